"""Rewrites the flag tables in README.md from the config fields (``make readme-flags``).

The tables run from the first group's title to the next ``## `` section heading.
"""

from tfft.flags import flags_markdown

START, END = "**What to run and where to write it**", "\n## "  # the tables end at the next section

with open("README.md", encoding="utf-8") as f:
    text = f.read()
head, rest = text.split(START, 1)
tail = rest[rest.index(END) + 1:]
with open("README.md", "w", encoding="utf-8") as f:
    f.write(head + flags_markdown() + "\n" + tail)
