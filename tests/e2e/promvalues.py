"""promvalues.py - the samples of a Prometheus text exposition as {"NAME{LABELS}": value},
for the end-to-end tests that check numbers (metrics.sh, workers.sh); promfmt.py checks
the format itself."""


def values(path):
    """every sample line of the file at path, keyed by name and labels"""
    m = {}
    for line in open(path, encoding="utf-8"):
        if line.strip() and not line.startswith("#"):
            k, v = line.rsplit(" ", 1)
            m[k] = float(v)
    return m
