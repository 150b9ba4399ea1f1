#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""A strict checker of the Prometheus text exposition format (0.0.4).

Usage: promcheck.py FILE     exit 0 when FILE is valid, else 1 with the
                             problems on stderr, one a line
       promcheck.py --self-test
                             check that the checker refuses known-bad
                             inputs and accepts a good one

Rules checked: metric and label names match their regexes (label names
starting with __ are reserved); label values are quoted with only \\\\, \\"
and \\n escapes; values are floats (or +Inf, -Inf, NaN); a family has at
most one HELP and one TYPE line, its TYPE comes before its samples, and
its samples are contiguous; sample names fit the family's type (a
histogram has only NAME_bucket with an le label, NAME_sum and NAME_count);
counters are not negative; no series appears twice; each histogram series
has buckets sorted by le, cumulative (never decreasing), ending in
le="+Inf", a _sum, and a _count equal to the +Inf bucket; the text ends
with a newline.
"""
import math
import re
import sys

METRIC_NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*\Z")
LABEL_NAME = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*\Z")
TYPES = {"counter", "gauge", "histogram", "summary", "untyped"}


def parse_value(text):
    if text in ("+Inf", "Inf"):
        return math.inf
    if text == "-Inf":
        return -math.inf
    if text == "NaN":
        return math.nan
    if not re.fullmatch(r"[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?", text):
        raise ValueError(f"bad value '{text}'")
    return float(text)


def parse_labels(text, pos):
    """Parse {a="b",...} at text[pos] == '{'; return (labels, next pos)."""
    labels = []
    pos += 1
    while True:
        if pos < len(text) and text[pos] == "}":
            return labels, pos + 1
        m = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*").match(text, pos)
        if not m:
            raise ValueError(f"bad label name at column {pos + 1}")
        name = m.group(0)
        if name.startswith("__"):
            raise ValueError(f"reserved label name '{name}'")
        pos = m.end()
        if text[pos:pos + 2] != '="':
            raise ValueError(f"label '{name}' without =\"value\"")
        pos += 2
        value = []
        while True:
            if pos >= len(text):
                raise ValueError(f"unterminated value of label '{name}'")
            c = text[pos]
            if c == "\\":
                nxt = text[pos + 1:pos + 2]
                if nxt not in ("\\", '"', "n"):
                    raise ValueError(f"bad escape '\\{nxt}' in label '{name}'")
                value.append("\n" if nxt == "n" else nxt)
                pos += 2
            elif c == '"':
                pos += 1
                break
            elif c == "\n":
                raise ValueError("newline in a label value")
            else:
                value.append(c)
                pos += 1
        if any(n == name for n, _ in labels):
            raise ValueError(f"label '{name}' given twice")
        labels.append((name, "".join(value)))
        if pos < len(text) and text[pos] == ",":
            pos += 1
            continue
        if pos < len(text) and text[pos] == "}":
            return labels, pos + 1
        raise ValueError(f"expected ',' or '}}' at column {pos + 1}")


def family_of(sample, types):
    """The family a sample name belongs to, by the declared types."""
    for suffix in ("_bucket", "_sum", "_count"):
        if sample.endswith(suffix):
            base = sample[: -len(suffix)]
            if types.get(base) in ("histogram", "summary"):
                return base, suffix
    return sample, ""


def check(text):
    errors = []
    if text and not text.endswith("\n"):
        errors.append("the text does not end with a newline")
    types, helps = {}, set()
    seen_samples = set()  # families that had samples
    current = None  # family of the previous sample
    series = set()
    hist = {}  # (family, labels without le) -> {"buckets": [...], ...}
    for lineno, line in enumerate(text.split("\n")[:-1] if text.endswith("\n") else text.split("\n"), 1):
        where = f"line {lineno}"
        if line.strip() == "":
            continue
        if line.startswith("#"):
            parts = line.split(None, 3)
            if len(parts) >= 2 and parts[1] in ("HELP", "TYPE"):
                if len(parts) < 3 or not METRIC_NAME.match(parts[2]):
                    errors.append(f"{where}: bad metric name in {parts[1]}")
                    continue
                name = parts[2]
                if parts[1] == "HELP":
                    if name in helps:
                        errors.append(f"{where}: second HELP for {name}")
                    helps.add(name)
                else:
                    t = parts[3].strip() if len(parts) > 3 else ""
                    if t not in TYPES:
                        errors.append(f"{where}: unknown type '{t}' for {name}")
                    if name in types:
                        errors.append(f"{where}: second TYPE for {name}")
                    if name in seen_samples:
                        errors.append(f"{where}: TYPE for {name} after its samples")
                    types[name] = t
            continue
        m = re.match(r"[^{ \t]+", line)
        name = m.group(0) if m else ""
        if not METRIC_NAME.match(name):
            errors.append(f"{where}: bad metric name '{name}'")
            continue
        pos = len(name)
        labels = []
        try:
            if pos < len(line) and line[pos] == "{":
                labels, pos = parse_labels(line, pos)
            rest = line[pos:]
            if not rest.startswith(" "):
                raise ValueError("no space before the value")
            fields = rest.split()
            if len(fields) not in (1, 2):
                raise ValueError("expected a value and an optional timestamp")
            value = parse_value(fields[0])
            if len(fields) == 2 and not re.fullmatch(r"-?\d+", fields[1]):
                raise ValueError(f"bad timestamp '{fields[1]}'")
        except ValueError as e:
            errors.append(f"{where}: {e}")
            continue
        family, suffix = family_of(name, types)
        ftype = types.get(family)
        if ftype is None:
            errors.append(f"{where}: sample {name} has no TYPE before it")
        if family != current and family in seen_samples:
            errors.append(f"{where}: samples of {family} are not together")
        current = family
        seen_samples.add(family)
        key = (name, tuple(sorted(labels)))
        if key in series:
            errors.append(f"{where}: series {name}{dict(labels)} appears twice")
        series.add(key)
        lnames = [n for n, _ in labels]
        if ftype == "counter" and (math.isnan(value) or value < 0):
            errors.append(f"{where}: counter {name} is negative or NaN")
        if ftype in ("counter", "gauge", "untyped") and suffix:
            errors.append(f"{where}: {name} does not fit a {ftype}")
        if ftype == "histogram":
            if suffix == "":
                errors.append(f"{where}: histogram sample {name} needs _bucket, _sum or _count")
                continue
            base_labels = tuple(sorted((n, v) for n, v in labels if n != "le"))
            h = hist.setdefault((family, base_labels), {"buckets": [], "sum": None, "count": None, "line": lineno})
            if suffix == "_bucket":
                le = dict(labels).get("le")
                if le is None:
                    errors.append(f"{where}: bucket without an le label")
                    continue
                try:
                    bound = parse_value(le)
                except ValueError:
                    errors.append(f"{where}: bad le '{le}'")
                    continue
                h["buckets"].append((bound, value, le))
            elif "le" in lnames:
                errors.append(f"{where}: {name} must not have an le label")
            elif suffix == "_sum":
                h["sum"] = value
            else:
                h["count"] = value
    for (family, labels), h in hist.items():
        what = f"histogram {family}{dict(labels)}"
        b = h["buckets"]
        if not b:
            errors.append(f"{what}: no buckets")
            continue
        bounds = [x[0] for x in b]
        if bounds != sorted(bounds) or len(set(bounds)) != len(bounds):
            errors.append(f"{what}: buckets not sorted by le")
        counts = [x[1] for x in b]
        if any(later < earlier for earlier, later in zip(counts, counts[1:])):
            errors.append(f"{what}: bucket counts are not cumulative")
        if b[-1][0] != math.inf:
            errors.append(f"{what}: the last bucket is not le=\"+Inf\"")
        if h["count"] is None:
            errors.append(f"{what}: no _count")
        elif b[-1][0] == math.inf and h["count"] != b[-1][1]:
            errors.append(f"{what}: _count {h['count']} != +Inf bucket {b[-1][1]}")
        if h["sum"] is None:
            errors.append(f"{what}: no _sum")
    return errors


GOOD = """# HELP a_total A counter.
# TYPE a_total counter
a_total 3
# TYPE h histogram
h_bucket{x="q\\\\\\"\\n",le="1"} 1
h_bucket{x="q\\\\\\"\\n",le="+Inf"} 2
h_sum{x="q\\\\\\"\\n"} 3.5
h_count{x="q\\\\\\"\\n"} 2
# TYPE g gauge
g{host="a",rank="1"} 1
g{host="a",rank="2"} 0
"""

BAD = {
    "no TYPE": "x 1\n",
    "bad name": "# TYPE 1x gauge\n1x 1\n",
    "TYPE after sample": "x 1\n# TYPE x gauge\n",
    "duplicate series": "# TYPE x gauge\nx{a=\"1\"} 1\nx{a=\"1\"} 2\n",
    "bad escape": "# TYPE x gauge\nx{a=\"\\t\"} 1\n",
    "unquoted label": "# TYPE x gauge\nx{a=1} 1\n",
    "reserved label": "# TYPE x gauge\nx{__a=\"1\"} 1\n",
    "bad value": "# TYPE x gauge\nx one\n",
    "negative counter": "# TYPE x counter\nx -1\n",
    "no final newline": "# TYPE x gauge\nx 1",
    "not cumulative": "# TYPE h histogram\nh_bucket{le=\"1\"} 2\nh_bucket{le=\"+Inf\"} 1\nh_sum 1\nh_count 1\n",
    "no +Inf": "# TYPE h histogram\nh_bucket{le=\"1\"} 1\nh_sum 1\nh_count 1\n",
    "count mismatch": "# TYPE h histogram\nh_bucket{le=\"+Inf\"} 2\nh_sum 1\nh_count 3\n",
    "no sum": "# TYPE h histogram\nh_bucket{le=\"+Inf\"} 2\nh_count 2\n",
    "split family": "# TYPE x gauge\n# TYPE y gauge\nx 1\ny 1\nx{a=\"b\"} 1\n",
    "second TYPE": "# TYPE x gauge\n# TYPE x gauge\nx 1\n",
    "unknown type": "# TYPE x thing\nx 1\n",
}


def self_test():
    ok = True
    if check(GOOD):
        print("good input refused:", check(GOOD), file=sys.stderr)
        ok = False
    for what, text in BAD.items():
        if not check(text):
            print(f"bad input accepted: {what}", file=sys.stderr)
            ok = False
    return 0 if ok else 1


def main():
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    if sys.argv[1] == "--self-test":
        return self_test()
    with open(sys.argv[1], encoding="utf-8") as f:
        text = f.read()
    errors = check(text)
    for e in errors:
        print(f"{sys.argv[1]}: {e}", file=sys.stderr)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
