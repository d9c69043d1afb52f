"""`python -m hubgen` runs the CLI (useful where the console script is not on PATH)."""

from hubgen.cli.main import main

if __name__ == "__main__":
    main()
