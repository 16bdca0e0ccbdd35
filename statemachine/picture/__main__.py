"""`python -m statemachine.picture` (`make picture`): redraw docs/workflow.svg and docs/workflow.png from the ASL."""

from statemachine.picture.render import main

if __name__ == "__main__":
    raise SystemExit(main())
