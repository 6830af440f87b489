# shellcheck shell=bash
# redirect.bash - the interception rule of the proxy variant: the MSAs' port 25 to hosts
# that are not agg goes to the proxy's port. Sourced by lab/lab and lab/node: the lab and
# real hosts load the very same rule.

# redirect_rules FAMILY PORT SOURCES [IIF] - the nft table (FAMILY ip or ip6) that sends
# port 25 from SOURCES (an nft set body: "A, B") to non-local hosts to this host's PORT
# (NAT REDIRECT); IIF: only what arrives on that interface (any when empty)
redirect_rules() {
    local fam=$1 port=$2 src=$3 iif=${4:-} match=""
    [[ -z "$iif" ]] || match="iifname \"$iif\" "
    cat <<NFT
table $fam mailagg_redirect {
    chain prerouting {
        type nat hook prerouting priority dstnat; policy accept;
        $match$fam saddr { $src } fib daddr type != local tcp dport 25 redirect to :$port
    }
}
NFT
}
