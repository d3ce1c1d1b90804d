"""The words that tell what a decision is about (used by :mod:`escalade.autonomy._classify`).

Cue phrases follow :class:`~escalade.autonomy._text.Cue` syntax. A weight of 1 is a cue that alone
says what the decision is; smaller weights are hints that add up. The lists cover paraphrases
("ship to the live cluster" is a deployment, "swap bcrypt for argon2" is security, "purge rows" is a
deletion), not only the obvious keyword.
"""

from __future__ import annotations

from collections.abc import Mapping

from escalade.autonomy._decisions import DecisionType, Environment, Scope
from escalade.autonomy._text import Cue

__all__ = [
    "BREAKING_CUES",
    "COMPLIANCE_CUES",
    "COSMETIC_CUES",
    "DATA_OBJECTS",
    "DELETION_VERBS",
    "ENVIRONMENT_CUES",
    "FAKE_DATA_WORDS",
    "IRREVERSIBLE_CUES",
    "MONEY_CUES",
    "MUTATING_CUES",
    "NOT_DATA_OBJECTS",
    "NO_CHANGE_CUES",
    "PATH_CUES",
    "READ_ONLY_MODES",
    "READ_ONLY_NAMES",
    "READ_ONLY_VERBS",
    "SCOPE_CUES",
    "STRATEGIC_TEXT_CUES",
    "STRONG_DELETION_VERBS",
    "TACTICAL_TEXT_CUES",
    "TYPE_CUES",
    "URGENT_CUES",
    "WEAK_SECURITY_CUES",
]


def _cues(*entries: tuple[str, float] | str) -> tuple[Cue, ...]:
    return tuple(Cue.of(e) if isinstance(e, str) else Cue.of(*e) for e in entries)


# fmt: off
_T = DecisionType

TYPE_CUES: Mapping[DecisionType, tuple[Cue, ...]] = {
    _T.DEPLOYMENT: _cues(
        "deploy", "redeploy", "deployment", "rollout", "roll ~ out", "release", "rerelease", "go live", "went live",
        "going live", "launch", "canary", "blue green", "cutover", "cut over", "cut ~ release", "tag ~ release",
        ("ship", 0.9), ("publish", 0.8), ("promote ~ prod|production|staging|live|release|build", 1.0),
        ("push ~ prod|production|live|staging|cluster|server|store", 0.9), ("roll back", 0.8), ("rollback", 0.8),
        ("revert ~ release|deploy|deployment", 0.8), ("helm upgrade|install", 1.0), ("kubectl apply", 0.8),
        ("app|play store", 0.8), ("testflight", 0.8), ("new version ~ live|out|prod|production", 0.8),
        ("put ~ live", 0.8), ("hotfix ~ prod|production", 0.5), ("upgrade ~ prod|production", 0.5),
        ("build ~ and ~ release|deploy", 0.5), ("pipeline", 0.3), ("ci|cd", 0.2),
        ("live cluster|site|server|environment", 0.6),
    ),
    _T.SECURITY: _cues(
        "security", "secure", "vulnerability", "vulnerable", "cve", "exploit", "authenti*", "authori*", "auth",
        "oauth", "sso", "saml", "oidc", "openid", "jwt", "password", "passwd", "passphrase", "credential", "secret",
        "api key", "signing key", "private key", "ssh key", "encryption key", "master key", "key rotation",
        ("rotate ~ key|secret|credential|cert|certificate|token|password", 1.0), "encrypt", "decrypt", "cipher",
        "crypto*", "bcrypt", "argon2", "argon", "scrypt", "pbkdf2", "sha256", "sha1", "md5", "hmac", "tls", "ssl",
        "mtls", "https", "certificate", "cert", "firewall", "waf", "iam", "rbac", "permission", "privilege",
        "access control", "acl", "mfa", "2fa", "totp", "csrf", "xss", "cors", "csp", "injection", "sanitize",
        "pentest", "brute force", "ddos", "security group", "ingress rule", "zero trust", "least privilege", "revoke",
        ("grant ~ access|admin|role|permission", 1.0), ("admin|admins|administrator", 0.6), "sudo", "sudoers",
        "superuser", "root access", "privileged", ("add ~ to ~ admin|admins|sudoers|owners", 1.0),
        ("leak|leaked|leaking|leaks ~ secret|key|credential|token|password|data|pii|personal", 0.9),
        ("secret|key|credential|token|password|data ~ leak|leaked|leaking", 0.9),
        ("exfiltrate|exfiltration", 0.9), ("allowlist|whitelist|denylist|blocklist", 0.6),
        ("public ~ bucket|access|acl|read|link", 0.7), ("bucket|repo|repository|container|blob|database ~ public", 0.9),
        ("everyone|anyone|anybody ~ access|write|read|admin|owner|permission", 0.9), ("vpn|ssh", 0.5),
        "api|access|auth|bearer|refresh|personal ~ token", ("signature", 0.8),
        ("forge|forged|spoof|spoofed|tamper", 0.9),
        ("secret|token|password|credential|key ~ in|into ~ code|repo|file|config|terraform|git|plaintext", 1.0),
        ("token", 0.7), ("session", 0.4), ("hash", 0.5), ("open ~ port", 0.7), ("expose ~ port|public|internet", 0.6),
        ("captcha", 0.6), ("rate limit", 0.3), ("salt", 0.5), ("vault", 0.6), ("kms", 0.8), ("sops", 0.6),
        ("patch ~ cve|vulnerability", 1.0),
    ),
    _T.DATA: _cues(
        "database", "db", "dataset", "data", "row", "record", "backfill", "etl", "backup", "snapshot", "anonymize",
        "anonymise", "pseudonymize", "dedupe", "deduplicate", "reindex", "data migration",
        "migrate ~ data|database|db|table|record|row|schema|user|account", "purge", "wipe", "truncate", "gdpr erasure",
        ("schema", 0.7), ("table", 0.6), ("column", 0.6), ("index", 0.3), ("partition", 0.5), ("sql", 0.6),
        ("query", 0.3), ("collection", 0.4), ("bucket", 0.5), ("s3", 0.4), ("warehouse", 0.6), ("bigquery", 0.7),
        ("snowflake", 0.6), ("redshift", 0.7), ("postgres|postgresql|mysql|mariadb|sqlite|mongo|mongodb", 0.7),
        ("dynamodb|cassandra|elasticsearch", 0.6), ("export ~ data|csv|record|user|customer", 0.8),
        ("import ~ data|csv|record", 0.8), ("restore ~ backup|database|db|snapshot", 1.0), ("alter table", 1.0),
        ("pii", 0.5), ("customer|user|personal data", 0.8), ("delete|remove|drop|erase|destroy", 0.3),
        ("primary|foreign key", 1.0), ("column type", 0.8), ("vacuum|compact|shard|sharding", 0.6),
    ),
    _T.ARCHITECTURE: _cues(
        "architecture", "architect", "rearchitect", "redesign", "restructure", "monolith", "microservice", "decouple",
        "modularize", "modularise", "hexagonal", "domain driven", "event driven", "event sourcing", "cqrs",
        ("refactor", 0.6), ("rewrite", 0.8), ("split ~ service|monolith|module|app|repo|codebase", 1.0),
        ("extract ~ service|microservice|library|package", 1.0), ("merge ~ service|repos|repositories", 0.8),
        ("replace ~ framework|orm|database|queue|broker|cache|stack|library", 0.8),
        ("switch|move|migrate ~ from ~ to", 0.5), ("port ~ to", 0.5), ("message queue|broker", 0.6),
        ("event bus", 0.6), ("introduce ~ layer|service|queue|cache", 0.6), ("service boundary", 1.0),
        ("data model", 0.5), ("design", 0.4), ("pattern", 0.3), ("framework", 0.4), ("adopt", 0.3),
        ("kafka|rabbitmq|nats|pubsub", 0.3), ("serverless", 0.5), ("monorepo", 0.6), ("layer", 0.3),
    ),
    _T.CONFIGURATION: _cues(
        "config", "configuration", "configure", "setting", "env var", "environment variable", "feature flag", "toggle",
        "parameter", "timeout", "log level", "verbosity", "dotenv", ("flag", 0.7), ("set ~ to", 0.6),
        ("threshold", 0.6), ("yaml|toml|ini|json", 0.4), ("property|properties", 0.4), ("option", 0.4),
        ("default", 0.4), ("tune|tweak", 0.4), ("retry ~ count|limit|policy", 0.6), ("ttl", 0.6), ("cron", 0.5),
        ("schedule", 0.3), ("enable|disable", 0.5), ("turn|switch on|off", 0.5),
        ("increase|decrease|raise|lower|bump|change ~ limit|timeout|ttl|interval|pool|max|size|retries", 0.6),
        ("limit", 0.3), ("interval", 0.4), ("locale|timezone", 0.5),
    ),
    _T.RESOURCE: _cues(
        "scale", "autoscale", "autoscaling", "autoscaler", "hpa", "replica", "capacity", "provision", "allocate",
        "quota", "spin up", "spin down", "decommission", "upsize", "downsize", "rightsize", "scale up", "scale out",
        "scale down", ("instance", 0.7), ("node", 0.6), ("pod", 0.5), ("cpu|vcpu|gpu", 0.7), ("memory|ram", 0.5),
        ("disk|storage|volume", 0.5), ("add ~ node|server|instance|worker|replica|machine", 1.0),
        ("ec2|vm|compute", 0.7), ("machine|instance type", 0.7), ("resize", 0.6), ("cluster", 0.4), ("cost", 0.3),
        ("terraform", 0.5), ("infrastructure|infra", 0.5), ("load balancer", 0.5), ("worker", 0.4),
        ("reserved|spot instance", 1.0), ("savings plan", 1.0), ("tear down", 0.6), ("teardown", 0.6), ("budget", 0.3),
    ),
    _T.INTEGRATION: _cues(
        "webhook", "integrate", "integration", "third party", "3rd party", "sdk", "connector", "callback url",
        "stripe", "paypal", "twilio", "sendgrid", "slack", "salesforce", "hubspot", "zapier", "zendesk", "shopify",
        "mailchimp", "segment", "grpc", "graphql", "openapi", "swagger", "upstream", ("api", 0.7), ("endpoint", 0.8),
        ("client library", 0.8), ("rest", 0.5), ("partner", 0.6), ("vendor", 0.5), ("external service|api", 1.0),
        ("payment provider|gateway", 1.0), ("sync with", 0.6),
        ("consume|subscribe ~ api|feed|event|topic|webhook", 0.8), ("connect ~ to", 0.5), ("github app", 0.7),
        ("http client", 0.6), ("route", 0.3), ("contract", 0.4),
    ),
    _T.MAINTENANCE: _cues(
        "cleanup", "clean up", "tidy", "lint", "linter", "format", "reformat", "prettier", ("typo|typos", 1.6),
        ("spelling|misspelling|misspelled", 1.6), "docs", "documentation", "readme", "docstring", "changelog",
        "release note", "release notes", "chore", "housekeeping", "dead code", "type hint", "typing", "rename",
        ("comment", 0.6), ("bump", 0.7),
        ("upgrade|update ~ dependency|dependencies|package|library|lockfile|version|deps", 0.9),
        ("dependency|dependencies|deps", 0.5), ("unused", 0.7), ("remove ~ unused|dead|deprecated|stale", 0.8),
        ("refactor ~ small|local|function|method|helper|variable|class|loop", 0.8), ("test", 0.5), ("css", 0.9),
        ("style|styling|stylesheet", 0.7), ("colour|color|font|padding|margin|icon|spacing", 0.8),
        ("button|tooltip|label|wording|copy|text", 0.3), ("log message", 0.6), ("deprecat*", 0.5),
        ("optimize|optimise", 0.4), ("upgrade", 0.4), ("update", 0.2), ("mypy|ruff|eslint|flake8|pylint", 0.8),
        ("warning", 0.4), ("simplify", 0.5), ("variable", 0.5), ("import", 0.3), ("rotate ~ log", 0.8),
    ),
    _T.FIX: _cues(
        "fix", "bug", "bugfix", "hotfix", "repair", "crash", "regression", "off by one", "null pointer", "npe",
        "flaky", "memory leak", "workaround", "segfault", "deadlock", ("resolve ~ issue|bug|error|crash|ticket", 1.0),
        ("patch", 0.5), ("error", 0.4), ("exception", 0.5), ("broken|broke", 0.6), ("incorrect|wrong", 0.5),
        ("failing|fails|failure", 0.4), ("correct", 0.3), ("edge case", 0.6), ("race condition", 0.7), ("leak", 0.5),
        ("handle ~ error|exception|null|none|empty", 0.7), ("issue", 0.3), ("debug", 0.5), ("timeout", 0.2),
        ("500|404", 0.4),
    ),
}

#: Security words that say little on their own (a login page's colour is not a security change).
WEAK_SECURITY_CUES = frozenset({"session", "hash", "captcha", "rate limit", "salt", "token", "https"})

#: Cosmetic or textual work: with it, weak security cues (``login``) do not make a change security-sensitive.
COSMETIC_CUES = _cues(
    "typo", "spelling", "css", "colour", "color", "font", "padding", "margin", "icon", "spacing", "wording", "copy",
    "docs", "readme", "comment", "label", "tooltip", "style", "layout", "translation", "text", "local variable",
    "variable name", "whitespace", "indentation", "formatting", "docstring",
    ("rename ~ variable|parameter|argument|local|helper", 1.0),
)

#: Verbs that delete when their object is data.
DELETION_VERBS = _cues(
    "delete", "deletion", "remove", "drop", "erase", "destroy", "nuke", "expunge", "prune", "clear", "clean out",
    "hard delete", "get rid of", "throw away", "discard", "forget",
)
#: Verbs that delete data whatever follows, unless the object is clearly not data (a cache, a branch).
STRONG_DELETION_VERBS = _cues("purge", "wipe", "truncate", "obliterate", "shred", "gdpr erasure", "right to erasure")
DATA_OBJECTS = _cues(
    "row", "record", "user", "account", "customer", "table", "database", "db", "collection", "data", "dataset",
    "bucket", "volume", "backup", "entry", "document", "order", "transaction", "column", "schema", "partition",
    "snapshot", "blob", "pii", "profile", "email", "message", "event", "history", "log", "archive", "tenant",
    "subscriber", "member", "patient", "invoice", "keyspace", "topic", "photo", "upload", "file upload", "attachment",
    "tables", "recording", "conversation", "chat", "comment thread", "review",
)
#: Words that make data not real ("test users", "dummy rows").
FAKE_DATA_WORDS = _cues(
    "test", "temp", "tmp", "scratch", "dummy", "fake", "sample", "mock", "fixture", "seed", "local", "sandbox", "e2e",
    "synthetic", "placeholder",
)
NOT_DATA_OBJECTS = _cues(
    "cache", "branch", "dead code", "unused", "import", "function", "method", "variable", "test", "comment", "temp",
    "tmp", "scratch", "artifact", "build", "container", "image", "pod", "flag", "file", "folder", "directory",
    "lockfile", "dependency", "package", "warning", "duplicate code", "stale pr", "label", "tag", "config",
    "node modules", "local", "sandbox", "fixture", "mock", "index", "endpoint", "route", "api", "field", "parameter",
    "method", "class", "module", "feature", "job", "queue", "worker", "cron", "dashboard", "test user", "test data",
    "dummy", "fake", "sample", "seed data",
)

ENVIRONMENT_CUES: Mapping[Environment, tuple[Cue, ...]] = {
    Environment.PRODUCTION: _cues(
        "prod", "production", "prd", "go live", "went live", "live cluster", "live site", "live server",
        "live environment", "live database", "live db", "live traffic", "customer facing", "real users",
        "all customers", "all users", "main cluster", "production traffic", "to|into|on|in live", "everyone",
    ),
    Environment.STAGING: _cues(
        "staging", "stage environment", "preprod", "preproduction", "nonprod", "nonproduction", "uat", "qa env",
    ),
    Environment.DEVELOPMENT: _cues(
        "dev", "development", "locally", "local", "localhost", "sandbox", "my machine", "dev box", "test env",
        "test environment", "feature branch", "scratch",
    ),
}

SCOPE_CUES: Mapping[Scope, tuple[Cue, ...]] = {
    Scope.SYSTEM_WIDE: _cues(
        "system wide", "systemwide", "company wide", "platform wide", "org wide", "every service", "all services",
        "across all|every ~ service|team|region|repo|system", "entire ~ platform|system|stack|fleet|company|org",
        "whole ~ platform|system|stack|fleet|company|org", "global", "globally", "all regions", "all tenants",
        "all customers", "all users", "every user", "every customer", "fleet wide",
    ),
    Scope.LOCAL: _cues(
        "local variable", "single file", "one file", "one function", "a function", "this function", "this file",
        "one line", "single line", "locally", "helper", "private method", "unit test", "typo", "comment", "readme",
    ),
}

BREAKING_CUES = _cues(
    "breaking change", ("breaking ~ api|release|update|version|schema|contract|interface|for", 1.0),
    "backward incompatible", "backwards incompatible", "not backward compatible",
    "not backwards compatible", "incompatible change", "drop support", "remove support",
    ("break ~ api|client|consumer|compatibility|integration|contract|user|caller", 1.0),
    ("remove|delete|drop|rename ~ endpoint|route|v1|v2|field|parameter", 0.7), "public api",
    ("change ~ response|request ~ format|schema|shape", 0.7), "major version",
    (
        "change|alter|modify|rename ~ payload|response|schema|contract|format|field ~ return|returned|sent|send|emit|"
        "emitted|expose|exposed|publish|published|consumer|client|partner"
    ),
)
COMPLIANCE_CUES = _cues(
    "compliance", "compliant", "gdpr", "hipaa", "pci", "sox", "soc2", "soc 2", "iso 27001", "ccpa", "audit log",
    "audit trail", "data retention", "retention policy", "right to be forgotten", "consent", "regulator", "regulatory",
    "legal hold", "data residency", "phi",
)
IRREVERSIBLE_CUES = _cues(
    "irreversible", "permanently", "permanent", "cannot be undone", "can't be undone", "no rollback", "no way back",
    "one way", "force push", "hard delete", "send ~ email|notification|newsletter ~ all|every",
    ("charge ~ customer|card|user", 1.0), "transfer ~ fund|money", "publish ~ package|npm|pypi", "shred",
    "terminate ~ instance|server|node|cluster|vm|database|db|machine", "decommission", "rewrite ~ history",
    "accept|sign|renew ~ contract|agreement|terms|renewal|quote|order", "purchase", "buy", "wipe",
    "overwrite|overwriting|overwrites|rewrite|rewriting ~ row|record|data|table|value|column|history",
)
URGENT_CUES = _cues(
    "urgent", "asap", "immediately", "right now", "incident", "outage", "down", "sev1", "sev 1", "p0", "p1",
    "emergency", "on fire", "hotfix", "blocking", "critical",
)
STRATEGIC_TEXT_CUES: Mapping[str, tuple[Cue, ...]] = {
    "long_term_impact": _cues(
        "long term", "permanent", "permanently", "roadmap", "years", "strategy", "strategic", "going forward",
        "from now on", "deprecate", "sunset", "end of life",
    ),
    "policy_change": _cues("policy", "policies", "governance", "standard", "guideline", "convention"),
    "core_functionality": _cues("core", "platform", "foundation", "framework", "architecture", "data model"),
    "stakeholder_approval": _cues("stakeholder", "leadership", "contract", "pricing", "customer", "legal", "vendor"),
}
TACTICAL_TEXT_CUES: Mapping[str, tuple[Cue, ...]] = {
    "routine_operation": _cues("routine", "regular", "weekly", "daily", "usual", "as always", "again", "chore"),
    "short_term": _cues("temporary", "temporarily", "for now", "quick", "today", "this sprint", "one off"),
    "performance_tweak": _cues("optimize", "optimise", "speed up", "faster", "cache", "tweak"),
}

#: Money flows through what the action touches.
MONEY_CUES = _cues(
    "payment", "invoice", "refund", "billing", "charge", "payout", "ledger", "pricing", "price", "subscription",
    "checkout", "stripe", "paypal", "braintree", "adyen", "revenue", "payroll", "credit card", "bank", "wire", "tax",
    "discount", "coupon", "mark ~ paid|refunded|settled",
)

#: Verbs of actions that look without changing anything (in the first words of the description).
READ_ONLY_VERBS = _cues(
    "scan", "review", "audit", "analyze", "analyse", "investigate", "look into", "look at", "inspect", "check", "list",
    "count", "report", "summarize", "summarise", "draft", "propose", "plan", "preview", "simulate", "benchmark",
    "measure", "diagnose", "explore", "research", "read", "estimate", "compare", "evaluate", "assess", "triage",
    "explain", "answer", "outline", "sketch", "monitor", "watch", "observe", "verify",
)
#: Phrases naming a way of working that changes nothing (a dry run, read-only); a changing verb
#: right after one is its object ("dry run the deploy"), anywhere else it is a change.
READ_ONLY_MODES = _cues(
    "dry run", "dryrun", "read only", "readonly", "what if", "just look", "only look", "report only", "plan only",
    "document only", "documentation only", "docs only",
)
#: Phrases saying nothing is changed; they hold only when no changing verb is used outside them
#: ("deploy v2 and don't change anything else" changes something).
NO_CHANGE_CUES = _cues(
    "no changes", "no change", "no code changes", "no code change", "no config changes", "no writes",
    "without changing", "without modifying", "without applying", "do not apply", "don't apply",
    ("don't|dont|not|never ~ change|modify|touch|alter|edit|fix|apply|write ~ anything|nothing", 1.0),
)
#: "Read-only" naming a thing (a group, a role, a mode) rather than how the action works: granting
#: read-only access or switching to read-only mode changes something.
_NAMED = "group|role|user|access|permission|policy|account|token|key|credential|bucket|flag|mode|replica"
READ_ONLY_NAMES = _cues(f"read only ~ {_NAMED}", f"readonly ~ {_NAMED}")
#: Verbs that change something: with one of them, a "review and fix" is not read-only.
MUTATING_CUES = _cues(
    "deploy", "redeploy", "release", "ship", "rollout", "roll out", "promote", "launch", "spin up", "spin down",
    "delete", "drop", "remove", "purge", "wipe", "truncate", "nuke", "destroy", "tear down", "teardown", "clear",
    "clean", "prune", "flush", "update", "change", "modify", "apply", "fix", "patch", "rotate", "migrate", "set",
    "enable", "disable", "grant", "revoke", "merge", "push", "restart", "reboot", "stop", "shut down", "shutdown",
    "suspend", "pause", "resume", "terminate", "kill", "scale", "resize", "grow", "shrink", "provision", "install",
    "upgrade", "downgrade", "rename", "replace", "rewrite", "refactor", "insert", "edit", "move", "copy", "sync",
    "seed", "load", "reindex", "vacuum", "archive", "restore", "backup", "reset", "revert", "rollback", "roll back",
    "cut over", "failover", "fail over", "invalidate", "expire", "force", "execute", "trigger", "schedule", "rerun",
    "retry", "commit", "tag", "upload", "create", "add", "bump", "turn", "switch", "close", "send", "email",
    "charge", "refund", "pay", "transfer", "accept", "approve", "sign", "buy", "purchase", "cancel", "disconnect",
    "block", "ban", "lock", "unlock", "allow", "expose", "publish", "check in", "backfill", "import", "export",
    "invite", "assign", "regenerate", "decommission", "overwrite",
    ("write ~ to|into|row|rows|record|records|data|file|files|table|value|values|config|disk|database|db", 1.0),
    "run ~ migration|script|job",
)

#: Paths of affected files that hint at a type (matched on the path's words).
PATH_CUES: Mapping[DecisionType, tuple[Cue, ...]] = {
    _T.DEPLOYMENT: _cues(
        "deploy", "helm", "k8s", "kubernetes", "dockerfile", "github workflows", "gitlab ci", "jenkinsfile", "release",
        "argocd", "kustomization",
    ),
    _T.SECURITY: _cues(
        "auth", "authenti*", "authori*", "security", "crypto*", "secret", "permission", "iam", "rbac", "oauth",
        "login", "password", "cert", "tls", "firewall",
    ),
    _T.DATA: _cues("migration", "migrations", "alembic", "schema", "sql", "seed", "fixtures db", "dbt"),
    _T.CONFIGURATION: _cues("config", "settings", "env", "yaml", "yml", "toml", "ini", "properties", "conf"),
    _T.RESOURCE: _cues("terraform", "tf", "infra", "infrastructure", "autoscaling", "capacity"),
    _T.INTEGRATION: _cues("api", "client", "clients", "webhook", "webhooks", "integration", "integrations", "sdk"),
    _T.MAINTENANCE: _cues("readme", "docs", "md", "rst", "css", "scss", "less", "changelog", "lint", "test", "tests"),
    _T.ARCHITECTURE: _cues(),
    _T.FIX: _cues(),
}
# fmt: on
