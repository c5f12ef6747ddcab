#!/usr/bin/env python3
"""A flame graph from `perf script` output, with no other tool: folds the sampled stacks,
prints the heaviest frames (inclusive share of all samples) and writes an SVG.

    perf record -F 499 --call-graph dwarf -p <pid> -- sleep 10
    perf script | scripts/flamegraph.py --svg flame.svg --top 25 --title "intake"
"""
import argparse
import collections
import html
import re
import sys


def fold(lines):
    """perf script's blocks (a header line, then one frame per line, innermost first) as
    {"outer;...;inner": samples}."""
    stacks = collections.Counter()
    frames = []
    comm = None
    for line in lines:
        line = line.rstrip("\n")
        if not line.strip():
            if comm is not None:
                stacks[";".join([comm] + list(reversed(frames)))] += 1
            frames, comm = [], None
            continue
        if comm is None:
            comm = line.split()[0] if line.split() else "?"
            continue
        parts = line.strip().split(None, 1)
        name = parts[1] if len(parts) > 1 else parts[0]
        name = re.sub(r"\s+\(\S+\)$", "", name)  # the DSO
        name = re.sub(r"\+0x[0-9a-f]+$", "", name)
        name = re.sub(r"::h[0-9a-f]{16}$", "", name)  # Rust's symbol hash
        frames.append(name)
    if comm is not None:
        stacks[";".join([comm] + list(reversed(frames)))] += 1
    return stacks


def inclusive(stacks):
    """Samples in which each frame appears at least once."""
    total = collections.Counter()
    for stack, n in stacks.items():
        for frame in set(stack.split(";")[1:]):
            total[frame] += n
    return total


def svg(stacks, title, width=1200, row=16):

    def add(node, frames, n):
        node[0] += n
        if frames:
            child = node[1].setdefault(frames[0], [0, {}])
            add(child, frames[1:], n)

    tree = [0, {}]
    for stack, n in stacks.items():
        add(tree, stack.split(";"), n)
    total = tree[0] or 1
    rects = []
    depth_max = [0]

    def walk(node, x, depth):
        for name, child in sorted(node[1].items()):
            w = child[0] / total * width
            if w >= 0.5:
                rects.append((x, depth, w, name, child[0]))
                depth_max[0] = max(depth_max[0], depth)
                walk(child, x, depth + 1)
            x += w

    walk(tree, 0.0, 0)
    height = (depth_max[0] + 3) * row
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-family="monospace" font-size="11">',
        f'<text x="4" y="{row - 4}">{html.escape(title)} ({total} samples; hover for names)</text>',
    ]
    for x, depth, w, name, n in rects:
        y = height - (depth + 1) * row
        hue = 20 + (hash(name) % 40)
        label = html.escape(name)
        out.append(
            f'<g><title>{label} ({n} samples, {100 * n / total:.1f}%)</title>'
            f'<rect x="{x:.1f}" y="{y}" width="{w:.1f}" height="{row - 1}" fill="hsl({hue},85%,60%)"/>'
        )
        chars = int(w / 7)
        if chars >= 4:
            text = name if len(name) <= chars else name[: chars - 2] + ".."
            out.append(f'<text x="{x + 2:.1f}" y="{y + row - 4}">{html.escape(text)}</text>')
        out.append("</g>")
    out.append("</svg>")
    return "\n".join(out)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--svg", help="write the flame graph here")
    ap.add_argument("--folded", help="write the folded stacks here")
    ap.add_argument("--top", type=int, default=25, help="how many frames to list")
    ap.add_argument("--title", default="perf samples")
    args = ap.parse_args()
    stacks = fold(sys.stdin)
    total = sum(stacks.values())
    if not total:
        sys.exit("no samples in the input: was `perf script` given a perf.data with call graphs?")
    if args.folded:
        with open(args.folded, "w") as f:
            for stack, n in stacks.most_common():
                f.write(f"{stack} {n}\n")
    if args.svg:
        with open(args.svg, "w") as f:
            f.write(svg(stacks, args.title))
    print(f"{total} samples; frames by inclusive share:")
    for frame, n in inclusive(stacks).most_common(args.top):
        print(f"{100 * n / total:6.1f}%  {frame}")


if __name__ == "__main__":
    main()
