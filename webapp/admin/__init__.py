"""Operator commands: `webapp admin user …` for the support desk and `webapp rotate-keys`.

Services take an `async_sessionmaker` and own their transactions; `commands.py` is the argparse side.
"""
