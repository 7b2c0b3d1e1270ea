"""Configuration classes. Secrets and the database URL come from the environment or
from `instance/` (never from the repository)."""

import json
import os


def _env_json_object(name: str) -> dict:
    try:
        value = json.loads(os.environ.get(name) or "{}")
    except ValueError as exc:
        raise ValueError(f"{name} must be a JSON object, e.g. {{\"otp\": \"1107...\"}}: {exc}") from exc
    if not isinstance(value, dict):
        raise ValueError(f"{name} must be a JSON object, e.g. {{\"otp\": \"1107...\"}}")
    return value


def _env_int(name: str, default: int) -> int:
    return int(os.environ.get(name, default))


def _env_list(name: str) -> list[str]:
    """A comma-separated setting (spaces around the commas ignored), e.g. old keys."""
    return [part.strip() for part in os.environ.get(name, "").split(",") if part.strip()]


class Config:
    """Defaults for a single-machine install (SQLite in `instance/`)."""

    SQLALCHEMY_DATABASE_URI = os.environ.get("DATABASE_URL")  # filled in by create_app
    SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True}
    # "pgbouncer" when DATABASE_URL goes through PgBouncer in transaction mode: psycopg
    # then prepares no statements (app/connections.py; docs/operations.md#behind-pgbouncer)
    DATABASE_POOLER = os.environ.get("DATABASE_POOLER", "")
    SECRET_KEY = os.environ.get("SECRET_KEY")  # generated into instance/ when absent (not in production)
    # Earlier keys, still accepted (comma-separated): sessions (Flask's own
    # SECRET_KEY_FALLBACKS), signed links and one-time codes made with one of them keep
    # verifying; everything new is signed with SECRET_KEY. See docs/security.md.
    SECRET_KEY_FALLBACKS = _env_list("SECRET_KEY_FALLBACKS")
    # Production refuses to start without SECRET_KEY: a key generated per host would make
    # every host reject the others' sessions and signed links.
    REQUIRE_SECRET_KEY = False

    LANGUAGES = {"en": "English", "hi": "हिन्दी", "fa": "فارسی"}
    BABEL_DEFAULT_LOCALE = "en"
    BABEL_DEFAULT_TIMEZONE = os.environ.get("PORTAL_TIMEZONE", "Asia/Kolkata")
    BABEL_TRANSLATION_DIRECTORIES = "../translations"

    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = os.environ.get("SESSION_COOKIE_SECURE", "0") == "1"
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"
    # scrypt with N=2^13, r=8, p=10: one of OWASP's equivalent scrypt settings (as costly to
    # guess as N=2^17) that needs 8 MiB per hash instead of Werkzeug's default 32 MiB, so a
    # sign-in does not lift a web worker's memory by 32 MB. Older hashes keep verifying.
    PASSWORD_HASH_METHOD = "scrypt:8192:8:10"  # noqa: S105 - parameters, not a secret
    WTF_CSRF_TIME_LIMIT = None  # token lives as long as the session
    WTF_CSRF_HEADERS = ["X-CSRFToken"]

    # Largest queue CSV export (rows); narrow the filters for more
    EXPORT_MAX_ROWS = _env_int("EXPORT_MAX_ROWS", 100_000)

    # Login throttling
    LOGIN_MAX_FAILURES = _env_int("LOGIN_MAX_FAILURES", 5)
    LOGIN_LOCKOUT_MINUTES = _env_int("LOGIN_LOCKOUT_MINUTES", 15)
    # Failures per (login id, network) lock that pair only. This many failures in a row
    # from any networks lock the account itself (a spread-out guessing attack); 0: never.
    LOGIN_ACCOUNT_MAX_FAILURES = _env_int("LOGIN_ACCOUNT_MAX_FAILURES", 50)

    # Rate limits (Flask-Limiter): Redis when REDIS_URL is set, memory otherwise. Both are
    # resolved in create_app (RATELIMIT_STORAGE_URI, if set, wins), so REDIS_URL may come
    # from the environment at start-up, from instance/config.py or from a test's config.
    REDIS_URL = None
    RATELIMIT_STORAGE_URI = None
    RATELIMIT_HEADERS_ENABLED = True
    RATELIMIT_ENABLED = os.environ.get("RATELIMIT_ENABLED", "1") == "1"
    # While Redis is unreachable, count in each worker's memory (Flask-Limiter's fallback)
    # instead of answering 500 on every limited page (sign-in, the doorstep form, tracking).
    RATELIMIT_IN_MEMORY_FALLBACK_ENABLED = True

    # Workflow timers
    CONFIRMATION_HOURS = _env_int("CONFIRMATION_HOURS", 48)
    INFO_RESPONSE_DAYS = _env_int("INFO_RESPONSE_DAYS", 7)
    INFO_TIMEOUT_POLICY = os.environ.get("INFO_TIMEOUT_POLICY", "close")  # close | escalate
    HOLIDAY_COUNTRY = os.environ.get("HOLIDAY_COUNTRY", "IN")

    # Doorstep requests: the same mobile, service and pincode again within this many hours,
    # while the first request is open, shows that request instead of raising another
    # (Back and submit again without JavaScript). 0 turns the check off.
    CITIZEN_REPEAT_HOURS = _env_int("CITIZEN_REPEAT_HOURS", 24)

    # Uploads
    UPLOAD_MAX_BYTES = _env_int("UPLOAD_MAX_BYTES", 200 * 1024)
    UPLOAD_ALLOWED_TYPES = ("image/jpeg", "application/pdf")
    MAX_CONTENT_LENGTH = 8 * 1024 * 1024  # whole request; per-file limit is UPLOAD_MAX_BYTES
    # Where uploads are kept: the folder UPLOAD_FOLDER (default instance/uploads/), or an
    # S3-compatible object store when UPLOADS_S3_BUCKET is set (app/storage.py). Keys: these
    # two, or boto3's own chain (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, ~/.aws, a role).
    UPLOADS_S3_BUCKET = os.environ.get("UPLOADS_S3_BUCKET", "")
    UPLOADS_S3_PREFIX = os.environ.get("UPLOADS_S3_PREFIX", "uploads/")
    UPLOADS_S3_ENDPOINT_URL = os.environ.get("UPLOADS_S3_ENDPOINT_URL", "")  # empty: Amazon S3
    UPLOADS_S3_REGION = os.environ.get("UPLOADS_S3_REGION", os.environ.get("AWS_DEFAULT_REGION", ""))
    UPLOADS_S3_ACCESS_KEY_ID = os.environ.get("UPLOADS_S3_ACCESS_KEY_ID", "")
    UPLOADS_S3_SECRET_ACCESS_KEY = os.environ.get("UPLOADS_S3_SECRET_ACCESS_KEY", "")
    UPLOADS_S3_ADDRESSING_STYLE = os.environ.get("UPLOADS_S3_ADDRESSING_STYLE", "auto")  # auto|path|virtual
    UPLOADS_S3_TIMEOUT = _env_int("UPLOADS_S3_TIMEOUT", 10)  # seconds, to connect and per read
    UPLOADS_S3_MAX_ATTEMPTS = _env_int("UPLOADS_S3_MAX_ATTEMPTS", 3)
    # The orphan sweep removes stored files no attachment names, once older than this
    UPLOADS_ORPHAN_GRACE_HOURS = _env_int("UPLOADS_ORPHAN_GRACE_HOURS", 24)
    SCHEDULER_UPLOADS_SECONDS = _env_int("SCHEDULER_UPLOADS_SECONDS", 3600)

    # Notifications: "file" writes to instance/outbox.log; "smtp"/"http" for production
    NOTIFY_EMAIL_BACKEND = os.environ.get("NOTIFY_EMAIL_BACKEND", "file")
    NOTIFY_SMS_BACKEND = os.environ.get("NOTIFY_SMS_BACKEND", "file")
    SMTP_HOST = os.environ.get("SMTP_HOST", "localhost")
    SMTP_PORT = _env_int("SMTP_PORT", 25)
    SMTP_USER = os.environ.get("SMTP_USER")
    SMTP_PASSWORD = os.environ.get("SMTP_PASSWORD")
    SMTP_STARTTLS = os.environ.get("SMTP_STARTTLS", "0") == "1"
    MAIL_FROM = os.environ.get("MAIL_FROM", "Seva Desk <no-reply@sevadesk.invalid>")
    SMS_GATEWAY_URL = os.environ.get("SMS_GATEWAY_URL")
    SMS_GATEWAY_TOKEN = os.environ.get("SMS_GATEWAY_TOKEN")
    OUTBOX_MAX_ATTEMPTS = _env_int("OUTBOX_MAX_ATTEMPTS", 8)
    # Delivery (docs/operations.md#delivery-workers): 0 workers, the scheduler delivers;
    # otherwise `flask deliver` processes do, each claiming DELIVERY_BATCH messages for
    # DELIVERY_LEASE_SECONDS at a time.
    DELIVERY_WORKERS = _env_int("DELIVERY_WORKERS", 0)
    DELIVERY_BATCH = _env_int("DELIVERY_BATCH", 50)
    DELIVERY_LEASE_SECONDS = _env_int("DELIVERY_LEASE_SECONDS", 300)
    DELIVERY_IDLE_SECONDS = float(os.environ.get("DELIVERY_IDLE_SECONDS", "2"))
    # A new or transferred case's notice to its office: "role_address" (one message to
    # the office's shared address, `OrgUnit.email`; each active staff member while it has
    # none), "digest" (one message per office every OFFICE_DIGEST_MINUTES) or "each".
    OFFICE_NOTICE_MODE = os.environ.get("OFFICE_NOTICE_MODE", "role_address")
    OFFICE_DIGEST_MINUTES = _env_int("OFFICE_DIGEST_MINUTES", 60)
    # Indian SMS gateways (TRAI DLT): the principal entity id and each template's id
    # ({"otp": "1107...", "otp.hi": "1107..."}: a template, or a template in a language),
    # sent under these JSON field names. Required (a message without its template id is
    # refused) when SMS_DLT_REQUIRED=1, or by default when an entity id is set.
    SMS_DLT_ENTITY_ID = os.environ.get("SMS_DLT_ENTITY_ID", "")
    SMS_DLT_TEMPLATE_IDS = _env_json_object("SMS_DLT_TEMPLATE_IDS")
    SMS_DLT_REQUIRED = {"1": True, "0": False}.get(os.environ.get("SMS_DLT_REQUIRED", ""))
    SMS_DLT_TEMPLATE_FIELD = os.environ.get("SMS_DLT_TEMPLATE_FIELD", "dlt_template_id")
    SMS_DLT_ENTITY_FIELD = os.environ.get("SMS_DLT_ENTITY_FIELD", "dlt_entity_id")

    # The helpdesk (seed 002: "a dedicated phone number/Email Id"): its name, phone and
    # e-mail address are shown on the public pages; messages sent to the address become
    # helpdesk tickets with the desk whose office code is HELPDESK_OFFICE.
    HELPDESK_NAME = os.environ.get("HELPDESK_NAME", "O&M Helpdesk")
    HELPDESK_PHONE = os.environ.get("HELPDESK_PHONE", "")
    HELPDESK_EMAIL = os.environ.get("HELPDESK_EMAIL", "")
    HELPDESK_OFFICE = os.environ.get("HELPDESK_OFFICE", "HELPDESK")
    # The mailbox `flask mail-fetch` reads: imap://user:password@host:143/INBOX (STARTTLS
    # when the server offers it) or imaps://user:password@host:993/INBOX. Unset: no fetching.
    MAIL_IMAP_URL = os.environ.get("MAIL_IMAP_URL", "")
    MAIL_FETCH_SECONDS = _env_int("MAIL_FETCH_SECONDS", 120)
    MAIL_MAX_BYTES = _env_int("MAIL_MAX_BYTES", 10 * 1024 * 1024)

    # Scheduler
    SCHEDULER_SWEEP_SECONDS = _env_int("SCHEDULER_SWEEP_SECONDS", 60)
    SCHEDULER_OUTBOX_SECONDS = _env_int("SCHEDULER_OUTBOX_SECONDS", 30)
    # A standby scheduler tries the lock this often (and the running one checks it still
    # holds it): it takes over within this many seconds of the first one dying.
    SCHEDULER_LOCK_POLL_SECONDS = float(os.environ.get("SCHEDULER_LOCK_POLL_SECONDS", 10))
    # SQLite: the lock file (default instance/scheduler.lock). PostgreSQL behind PgBouncer
    # in transaction mode: a direct URL for the scheduler's lock connection.
    SCHEDULER_LOCK_FILE = os.environ.get("SCHEDULER_LOCK_FILE")
    SCHEDULER_LOCK_DATABASE_URL = os.environ.get("SCHEDULER_LOCK_DATABASE_URL")
    # the monitoring reports (daily backlog snapshot, weekly summaries): each does its work
    # once a day or week, whatever this interval
    SCHEDULER_REPORTS_SECONDS = _env_int("SCHEDULER_REPORTS_SECONDS", 300)

    # Retention (app/services/infrastructure/retention.py): delivered notifications, used or expired
    # one-time codes and audit rows older than this many days are removed; 0 keeps them
    # forever. Cases and their timelines are never removed.
    RETENTION_NOTIFICATIONS_DAYS = _env_int("RETENTION_NOTIFICATIONS_DAYS", 90)
    RETENTION_CODES_DAYS = _env_int("RETENTION_CODES_DAYS", 7)
    RETENTION_AUDIT_DAYS = _env_int("RETENTION_AUDIT_DAYS", 730)
    RETENTION_BATCH_SIZE = _env_int("RETENTION_BATCH_SIZE", 1000)  # rows per transaction
    RETENTION_MAX_BATCHES = _env_int("RETENTION_MAX_BATCHES", 50)  # per table and scheduled run
    SCHEDULER_RETENTION_SECONDS = _env_int("SCHEDULER_RETENTION_SECONDS", 3600)
    # PostgreSQL's monthly partitions of case and case_event (app/services/infrastructure/
    # partitions.py): how often the job opens a new month and keeps headroom, and how many
    # ids one partition spans (a month that needs more gets a second one).
    SCHEDULER_PARTITIONS_SECONDS = _env_int("SCHEDULER_PARTITIONS_SECONDS", 600)
    PARTITION_IDS = {"case": _env_int("PARTITION_CASE_IDS", 1_000_000),
                     "case_event": _env_int("PARTITION_EVENT_IDS", 5_000_000)}

    # How many reverse proxies stand in front of the web workers (nginx: 1). Their
    # X-Forwarded-For/-Proto is believed for exactly that many hops, so rate limits and
    # sign-in locks count the real client; 0 believes no header (a client could forge it).
    TRUSTED_PROXIES = _env_int("TRUSTED_PROXIES", 0)

    PUBLIC_BASE_URL = os.environ.get("PUBLIC_BASE_URL", "http://127.0.0.1:5000")
    HSTS_SECONDS = 0  # set by ProductionConfig (HTTPS only)
    PAGE_SIZE = 25


class ProductionConfig(Config):
    """Behind HTTPS: secure cookies and HSTS; a SECRET_KEY shared by every host."""

    REQUIRE_SECRET_KEY = True

    SESSION_COOKIE_SECURE = True
    REMEMBER_COOKIE_SECURE = True
    PREFERRED_URL_SCHEME = "https"
    HSTS_SECONDS = 31536000


class TestConfig(Config):
    """Used by the test-suite: fast hashing, no rate limits unless a test turns them on."""

    TESTING = True
    SECRET_KEY = "test-secret-key"  # noqa: S105 - tests only
    SQLALCHEMY_DATABASE_URI = os.environ.get("TEST_DATABASE_URL", "sqlite://")
    WTF_CSRF_ENABLED = False
    RATELIMIT_ENABLED = True  # storage is set up; conftest switches limits off per test
    RATELIMIT_STORAGE_URI = "memory://"
    PASSWORD_HASH_METHOD = "pbkdf2:sha256:1000"  # noqa: S105 - fast hashing in tests
    NOTIFY_EMAIL_BACKEND = "memory"
    NOTIFY_SMS_BACKEND = "memory"
    SERVER_NAME = None
