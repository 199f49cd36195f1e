"""The machinery every benchmark suite shares.

- `options`: the CLI options common to the suites, declared once, and their parsers.
- `settings`: the base of every suite's settings (quick, full, validated).
- `records`: the base of every suite's result records (target, dict, reload).
- `report`: CSV, JSON, Markdown, tables and plots of a suite's records.
- `suite`: a suite (its command and its report) and the command the CLI makes of it.
- `timing`: the one timing loop of the transfer suites.
- `transfer`: what the MPI, UCX and endpoint suites share (settings, records,
  best-of times, their report).
- `subprocesses`: running worker scripts, also in another interpreter or venv.
"""
