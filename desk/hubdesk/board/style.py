"""The board's one style sheet, kept in Python so the package needs no data files.

Calm by default: white, grey rules, a readable sans-serif; colour only where a person must
look: red for a resident alarm, amber for a silent hub or a fault.
"""

import hashlib

CSS = """
:root { --red: #b42318; --red-bg: #fdecea; --amber: #9a5b00; --amber-bg: #fff4de;
  --ok: #2e6b3a; --ok-bg: #edf6ee; --ink: #1d2330; --muted: #5b6475; --rule: #d8dde6;
  --head: #f3f5f8; --link: #1f4f9e; }
* { box-sizing: border-box; }
html { font-size: 16px; }
body { margin: 0; color: var(--ink); background: #fff;
  font-family: "Noto Sans", "DejaVu Sans", Arial, "Noto Sans CJK JP", "IPAexGothic", "Hiragino Sans", sans-serif;
  line-height: 1.45; }
a { color: var(--link); }
header.top { display: flex; align-items: center; gap: 1.5rem; padding: .6rem 1.5rem;
  background: #24324a; color: #fff; }
header.top .brand { font-weight: 700; letter-spacing: .02em; }
header.top nav a { color: #fff; margin-right: 1rem; text-decoration: none; }
header.top nav a.here { border-bottom: 2px solid #fff; }
header.top .who { margin-left: auto; display: flex; gap: .8rem; align-items: center; }
header.top form { margin: 0; }
header.top button { background: transparent; color: #fff; border: 1px solid #8fa0bd;
  border-radius: 4px; padding: .2rem .7rem; cursor: pointer; font: inherit; }
main { padding: 1.2rem 1.5rem 2rem; max-width: 1200px; }
h1 { font-size: 1.45rem; margin: 0 0 .8rem; }
h2 { font-size: 1.1rem; margin: 1.6rem 0 .5rem; }
.counts { display: flex; gap: .8rem; margin-bottom: 1.2rem; flex-wrap: wrap; }
.count { min-width: 9rem; padding: .6rem .9rem; border: 1px solid var(--rule); border-radius: 6px;
  border-left-width: 6px; }
.count .n { font-size: 1.7rem; font-weight: 700; display: block; line-height: 1.1; }
.count .label { color: var(--muted); }
.count.alarm { border-left-color: var(--red); } .count.alarm .n { color: var(--red); }
.count.silent, .count.fault { border-left-color: #e0a030; }
.count.silent .n, .count.fault .n { color: var(--amber); }
.count.ok { border-left-color: #7fb48a; } .count.ok .n { color: var(--ok); }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: .45rem .6rem; border-bottom: 1px solid var(--rule);
  vertical-align: top; }
th { background: var(--head); font-weight: 600; font-size: .9rem; color: var(--muted); }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
tr.alarm td { background: var(--red-bg); }
tr.alarm td:first-child { border-left: 5px solid var(--red); }
tr.silent td, tr.fault td { background: var(--amber-bg); }
tr.silent td:first-child, tr.fault td:first-child { border-left: 5px solid #e0a030; }
tr.ok td:first-child { border-left: 5px solid transparent; }
.badge { display: inline-block; padding: .05rem .5rem; border-radius: 999px; font-size: .85rem;
  font-weight: 700; white-space: nowrap; }
.badge.alarm { background: var(--red); color: #fff; }
.badge.silent, .badge.fault { background: #f2b544; color: #3a2600; }
.badge.ok { background: var(--ok-bg); color: var(--ok); border: 1px solid #b9d8be; }
.muted { color: var(--muted); }
.pager { margin-top: .8rem; display: flex; gap: 1rem; align-items: center; }
.facts { display: grid; grid-template-columns: max-content 1fr; gap: .25rem 1.2rem; margin: 0; }
.facts dt { color: var(--muted); }
.facts dd { margin: 0; }
button.ack, button.primary { background: var(--red); color: #fff; border: 0; border-radius: 4px;
  padding: .35rem 1rem; font: inherit; font-weight: 700; cursor: pointer; }
button.primary { background: #24324a; }
.notice { padding: .6rem .9rem; border-radius: 6px; margin-bottom: 1rem; }
.notice.error { background: var(--red-bg); border: 1px solid #f1b0aa; color: var(--red); }
.notice.info { background: var(--ok-bg); border: 1px solid #b9d8be; }
form.login { max-width: 22rem; margin: 3rem auto; padding: 1.5rem; border: 1px solid var(--rule);
  border-radius: 8px; }
label { display: block; margin: .6rem 0 .2rem; font-weight: 600; }
input[type=text], input[type=password], textarea { width: 100%; padding: .45rem; font: inherit;
  border: 1px solid #b8c0cc; border-radius: 4px; }
textarea { min-height: 8rem; }
.actions { margin-top: 1rem; display: flex; gap: 1rem; align-items: center; }
footer { color: var(--muted); font-size: .85rem; padding: 0 1.5rem 1.5rem; }
td.text { max-width: 38rem; overflow-wrap: anywhere; }
th, td.nowrap, button { white-space: nowrap; }
table.flats { font-size: .95rem; }
td.flat a { font-weight: 600; }
"""

# the URL changes with the content, so a browser may keep the sheet for long
VERSION = hashlib.sha256(CSS.encode()).hexdigest()[:12]
PATH = "/board.css"
