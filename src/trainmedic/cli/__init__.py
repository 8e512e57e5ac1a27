"""The command line: ``trainmedic run``, ``report``, ``rules``, ``rule``, ``causes``."""
