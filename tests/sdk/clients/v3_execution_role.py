"""SDK v3 (sagemaker-core's session helper): the same STS calls as v2's, through the same proxy."""

from __future__ import annotations

import json

from sagemaker.core.helper.session_helper import Session, get_execution_role

RESULT = "SDK-RESULT "


def main() -> None:
    session = Session()
    bucket = session.default_bucket()
    try:
        user_role: str = get_execution_role(session)
    except ValueError as refused:
        user_role = f"ValueError: {refused}"
    print(RESULT + json.dumps({"bucket": bucket, "user_role": user_role}), flush=True)


if __name__ == "__main__":
    main()
