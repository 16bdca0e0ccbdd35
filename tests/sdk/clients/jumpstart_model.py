"""SDK v2: `JumpStartModel(model_id=...)`, which reads the model's specs from AWS's JumpStart bucket.

The local runtime has no JumpStart content: the client reports the error the SDK raised.
"""

from __future__ import annotations

from sagemaker.jumpstart.model import JumpStartModel
from sdk_v2 import report, role, session


def main() -> None:
    try:
        JumpStartModel(model_id="xgboost-classification-model", role=role(), sagemaker_session=session())
    except Exception as error:  # the test reads what the SDK says
        report(error=f"{type(error).__name__}: {error}")
        return
    report(error=None)


if __name__ == "__main__":
    main()
