"""Deterministic generator of ConfigObj files for the differential test (seeded, no I/O but the output dir).

Each generated file mixes well-formed structure (nested sections, keys, quoted and unquoted
values, lists, inline comments, multi-line values, unicode, empty values) with a small dose of
noise (stray quotes, brackets, '=' and '#') so that both accepted and rejected files occur.

Usage: python3 generate_corpus.py OUTDIR [COUNT] [SEED]
"""

import os
import random
import sys

_WORDS = ["alpha", "beta", "x", "y1", "path/to/file.fits", "3", "-2.5", "1e3", "True", "none",
          "None", "héllo", "日本", "naïve café", "a b", "0x10", "yes", "off", "über", "ε=mc²",
          "with space", "tab\there", "end\\", "semi;colon", "50%", "$var", "{0}"]
_INTERPOLATED = ["%(k3)s", "%(n1)s/%(k2)s", "%(key7)sx", "%(missing)s", "a%(par4)s%(name5)s"]
_NOISE = ['"', "'", ",", "#", "=", "[", "]", " ", "\t", '"""', "'''", "\u00a0", "\u2003"]


def _word(rng):
    w = rng.choice(_WORDS) if rng.random() > 0.04 else rng.choice(_INTERPOLATED)
    if rng.random() < 0.15:
        w += rng.choice(_NOISE) + rng.choice(_WORDS)
    return w


def _quoted(rng, text):
    r = rng.random()
    if r < 0.4 and '"' not in text:
        return '"%s"' % text
    if r < 0.8 and "'" not in text:
        return "'%s'" % text
    return text


def _item(rng):
    w = _word(rng)
    r = rng.random()
    if r < 0.3:
        return _quoted(rng, w + rng.choice(["", ", inner", " # hash", "  "]))
    return w


def _value(rng):
    r = rng.random()
    if r < 0.08:
        return ""
    if r < 0.13:
        return ","
    if r < 0.35:
        n = rng.randint(1, 4)
        items = [_item(rng) for _ in range(n)]
        sep = rng.choice([", ", ",", " , ", ",  "])
        text = sep.join(items)
        if n == 1 or rng.random() < 0.3:
            text += rng.choice([",", ", ", " ,"])
        return text
    if r < 0.42:
        q = rng.choice(['"""', "'''"])
        lines = [_word(rng) for _ in range(rng.randint(0, 3))]
        return q + "\n".join(lines) + q
    if r < 0.47:
        # noisy value
        return "".join(rng.choice(_NOISE + _WORDS) for _ in range(rng.randint(1, 5)))
    if r < 0.7:
        return _quoted(rng, _word(rng))
    return _word(rng)


def _key(rng, used):
    for _ in range(20):
        k = rng.choice(["k", "key", "par", "name", "n", "ü", "sp ace", "dot.ted", "x-y"]) + str(
            rng.randint(0, 12))
        if rng.random() < 0.05:
            k = k + rng.choice(_NOISE)
        if k not in used:
            break
    used.add(k)
    r = rng.random()
    if r < 0.1:
        return '"%s"' % k if '"' not in k else k
    if r < 0.15:
        return "'%s'" % k if "'" not in k else k
    return k


def _comment(rng):
    if rng.random() < 0.3:
        return rng.choice(["  # note", "#c", " # x = 1, 2", "\t# ünï", "  #"])
    return ""


def generate_text(rng):
    """One ConfigObj file as text."""
    lines = []
    if rng.random() < 0.5:
        lines.append("# initial comment")
    depth = 0
    used = [set()]
    dup_ok = rng.random() < 0.1  # sometimes allow duplicate keys (malformed)
    for _ in range(rng.randint(1, 14)):
        r = rng.random()
        indent = rng.choice(["", "", "  ", "\t", "    " * depth])
        if r < 0.2:
            # section marker: child, sibling or back to a shallower level
            choice = rng.random()
            if choice < 0.45 or depth == 0:
                new_depth = depth + 1
            elif choice < 0.75:
                new_depth = depth
            else:
                new_depth = rng.randint(1, depth)
            if rng.random() < 0.04:
                new_depth += 1  # too nested (malformed)
            name = rng.choice(["steps", "sec", "a", "b", "münchen", "with space", "s1", "s2", "DEFAULT"])
            name = _quoted(rng, name) if rng.random() < 0.2 else name
            close = new_depth if rng.random() > 0.03 else new_depth + 1
            lines.append(indent + "[" * new_depth + name + "]" * close + _comment(rng))
            depth = min(new_depth, depth + 1)
            used = used[:depth] + [set()]
        elif r < 0.27:
            lines.append(indent + rng.choice(["# comment", "", "   ", "#"]))
        elif r < 0.3:
            lines.append(indent + "".join(rng.choice(_NOISE + _WORDS) for _ in range(rng.randint(1, 4))))
        else:
            keys = used[-1] if not dup_ok else set()
            key = _key(rng, keys)
            eq = rng.choice([" = ", "=", " =", "= ", "  =  "])
            lines.append(indent + key + eq + _value(rng) + _comment(rng))
    end = rng.choice(["\n", "\n", "", "\r\n"])
    return end.join(lines) + (end if end else "")


def generate(outdir, count=160, seed=20240601):
    """Writes `count` files gen_XXXX.cfg into outdir; returns their paths."""
    rng = random.Random(seed)
    paths = []
    for i in range(count):
        text = generate_text(rng)
        path = os.path.join(outdir, "gen_%04d.cfg" % i)
        with open(path, "w", encoding="utf-8", newline="") as f:
            f.write(text)
        paths.append(path)
    return paths


if __name__ == "__main__":
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 160
    seed = int(sys.argv[3]) if len(sys.argv) > 3 else 20240601
    generate(out, n, seed)
