"""The Slack adapter: slack-sdk's WebClient with bounded retries. The only module that imports slack_sdk."""

from __future__ import annotations

from http.client import HTTPException, RemoteDisconnected
from typing import Any
from urllib.error import URLError

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry import ConnectionErrorRetryHandler, RateLimitErrorRetryHandler, RetryHandler

from lambdas.common.errors import RetrainingError
from lambdas.notify_slack.messages import SlackMessage


class SlackDeliveryError(RetrainingError):
    """Slack refused the message, or could not be reached within the retries and the timeout."""


class SlackNotifier:
    """Posts messages to one channel with a bot token; the token stays inside the WebClient."""

    def __init__(
        self,
        *,
        token: str,
        channel: str,
        base_url: str | None,
        timeout_seconds: int,
        rate_limit_retries: int,
        connection_retries: int,
    ) -> None:
        self._channel = channel
        self._timeout_seconds = timeout_seconds
        self._client = WebClient(
            token=token,
            base_url=base_url or WebClient.BASE_URL,
            timeout=timeout_seconds,
            retry_handlers=_retry_handlers(rate_limit_retries, connection_retries),
        )

    def post(self, message: SlackMessage) -> str:
        """Post the message and return its timestamp.

        Raises SlackDeliveryError with a readable reason (`slack error: invalid_auth`, a timeout, a refused
        connection) once the retries are spent. The reason never contains the token.
        """
        try:
            response = self._client.chat_postMessage(
                channel=self._channel,
                text=message.text,
                blocks=message.blocks,
                unfurl_links=False,
                unfurl_media=False,
            )
        except SlackApiError as error:
            raise SlackDeliveryError(f"slack error: {_api_error(error.response)}") from error
        except TimeoutError as error:
            raise SlackDeliveryError(f"slack did not answer within {self._timeout_seconds} s") from error
        except URLError as error:
            raise SlackDeliveryError(f"could not reach slack: {error.reason}") from error
        except (OSError, HTTPException) as error:
            raise SlackDeliveryError(f"could not reach slack: {type(error).__name__}: {error}") from error
        # Slack answers most errors with HTTP 200 and `ok: false`. slack-sdk raises SlackApiError for those;
        # checking again keeps the guarantee should its validation ever be relaxed.
        if response.get("ok") is not True:
            raise SlackDeliveryError(f"slack error: {_api_error(response)}")
        return str(response.get("ts", ""))


def _api_error(response: Any) -> str:
    error = response.get("error") if hasattr(response, "get") else None
    return str(error) if error else f"HTTP {getattr(response, 'status_code', '?')}"


def _retry_handlers(rate_limit_retries: int, connection_retries: int) -> list[RetryHandler]:
    return [
        # Sleeps for Slack's Retry-After (chat.postMessage allows about one message a second per channel).
        RateLimitErrorRetryHandler(max_retry_count=rate_limit_retries),
        # slack-sdk's defaults leave out read timeouts (TimeoutError). Retrying one may post the message
        # twice if Slack got the first request; a duplicate alert is better than a missing one.
        ConnectionErrorRetryHandler(
            max_retry_count=connection_retries,
            error_types=[URLError, ConnectionResetError, RemoteDisconnected, TimeoutError],
        ),
    ]
