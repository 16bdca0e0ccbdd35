"""Who a request to the local AWS comes from: the temporary credentials issued to each role session, as Lambda does.

Lambda runs a function with credentials of its execution role in AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and
AWS_SESSION_TOKEN, the session named after the function; its calls then reach the services as
`arn:aws:sts::<account>:assumed-role/<role name>/<function name>`. The registry here issues such credentials and maps
an access key id back to its session, so the server can tell which role signed a request. An access key id it did not
issue (the account's own `local`, the tests' `testing`) belongs to no role: such requests stay unrestricted.
"""

from __future__ import annotations

import hashlib
import string
import threading
from dataclasses import dataclass

# The session name Step Functions gives the sessions of a state machine's role: 32 ASCII letters of no meaning,
# as AccessDenied messages show them (`assumed-role/<role>/GGzJDbzYyvarbIioekwoULLKpGuSfJRc`,
# github.com/awslabs/aws-deployment-framework/issues/460; `.../ahHmwmWNKuHXeWtEOlzRZuOFiwpoCyKH`,
# github.com/aws-samples/lambda-refarch-imagerecognition/issues/19).
_OPAQUE_NAME_LENGTH = 32


@dataclass(frozen=True)
class RoleSession:
    """A session of a role: `role_arn` (arn:aws:iam::<account>:role/<path><name>) and the session's name."""

    role_arn: str
    session_name: str

    @property
    def arn(self) -> str:
        """The session's ARN as AWS names the caller: `arn:aws:sts::<account>:assumed-role/<role name>/<session>`."""
        account = self.role_arn.split(":")[4]
        role_name = self.role_arn.rsplit("/", 1)[-1]  # a role's path is not part of its session's ARN
        return f"arn:aws:sts::{account}:assumed-role/{role_name}/{self.session_name}"


@dataclass(frozen=True)
class Credentials:
    access_key_id: str
    secret_access_key: str
    session_token: str

    def environment(self) -> dict[str, str]:
        """The variables Lambda sets for them, which boto3 reads."""
        return {
            "AWS_ACCESS_KEY_ID": self.access_key_id,
            "AWS_SECRET_ACCESS_KEY": self.secret_access_key,
            "AWS_SESSION_TOKEN": self.session_token,
        }


class Principals:
    """The role sessions the local AWS has issued credentials for, by access key id (thread-safe)."""

    def __init__(self) -> None:
        self._sessions: dict[str, RoleSession] = {}
        self._lock = threading.Lock()

    def issue(self, role_arn: str, session_name: str) -> Credentials:
        """Credentials of a session of `role_arn`; the same session gets the same credentials every time."""
        session = RoleSession(role_arn, session_name)
        digest = hashlib.sha256(f"{role_arn}\n{session_name}".encode()).hexdigest().upper()
        # ASIA...: the prefix AWS gives temporary (STS) access key ids; 20 characters like theirs.
        access_key_id = f"ASIA{digest[:16]}"
        with self._lock:
            self._sessions[access_key_id] = session
        return Credentials(access_key_id, f"local-secret-{digest[16:40]}", f"local-session-{digest[40:]}")

    def find(self, access_key_id: str) -> RoleSession | None:
        """The session the key was issued to; None for a key not issued here (unrestricted)."""
        with self._lock:
            return self._sessions.get(access_key_id)


def opaque_session_name(*parts: str) -> str:
    """A session name of 32 letters, as a service that names its sessions with no meaning (Step Functions) does.

    Derived from `parts` rather than random, so one caller's sessions of one role share credentials (and the
    clients built with them).
    """
    digest = hashlib.sha256("\n".join(parts).encode()).digest()
    return "".join(string.ascii_letters[byte % len(string.ascii_letters)] for byte in digest[:_OPAQUE_NAME_LENGTH])
