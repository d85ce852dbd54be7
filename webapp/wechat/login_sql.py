"""The statements of the WeChat login rules (asyncpg parameters; see logins.py for who passes what).

A returning person's login is a single statement: refresh the identity's tokens and profile, record the
login, note the visit and queue an avatar copy, store the callback's result and write the browser's new
session, all only if the identity exists, its unionid needs no backfill and the account is not
disabled. A new person is also one statement. Anything else runs the rules step by step.
"""

from __future__ import annotations

ACCOUNT_COLUMNS = "u.id, u.username, u.display_name, u.password_hash IS NOT NULL AS has_password, u.created_at"
IDENTITY_COLUMNS = """
    user_id, appid, app_kind, openid, unionid, access_token_enc, refresh_token_enc, access_expires_at,
    refresh_expires_at, scope, nickname, avatar_url, profile_synced_at, status, created_at, updated_at, refresh_due_at
"""

# Columns written from a grant; $1 appid, $2 openid, then GrantValues.token_args() from $3.
TOKEN_SET = """
    access_token_enc = CASE WHEN $3 THEN $4 ELSE i.access_token_enc END,
    refresh_token_enc = CASE WHEN $3 THEN $5 ELSE i.refresh_token_enc END,
    access_expires_at = CASE WHEN $3 THEN $6 ELSE i.access_expires_at END,
    refresh_expires_at = CASE WHEN $3 THEN $7 ELSE i.refresh_expires_at END,
    scope = CASE WHEN $3 THEN $8 ELSE i.scope END,
    status = CASE WHEN $3 THEN 'active' ELSE i.status END,
    revoked_at = CASE WHEN $3 THEN NULL ELSE i.revoked_at END,
    refresh_due_at = CASE WHEN $3 THEN $6 - interval '15 minutes' ELSE i.refresh_due_at END,
    refresh_lease_until = CASE WHEN $3 THEN NULL ELSE i.refresh_lease_until END,
    refresh_failures = 0, refresh_error = '',
    nickname = COALESCE($9, i.nickname),
    avatar_url = COALESCE($10, i.avatar_url),
    profile_synced_at = CASE WHEN $9 IS NULL THEN i.profile_synced_at ELSE $11 END,
    profile_sync_requested_at = CASE WHEN $9 IS NULL THEN i.profile_sync_requested_at END,
    updated_at = $11
"""
RETURNING_LOGIN = f"""
WITH ident AS (
    UPDATE wechat_identities i SET {TOKEN_SET}
    FROM users u
    WHERE i.appid = $1 AND i.openid = $2 AND u.id = i.user_id AND u.disabled_at IS NULL
      AND ($12::text IS NULL OR i.unionid IS NOT DISTINCT FROM $12)
    RETURNING i.user_id, i.profile_synced_at
), ev AS (
    INSERT INTO security_events (user_id, kind, method, actor, client, ip, created_at)
    SELECT user_id, 'login', $13, 'user', $14, $15, $11 FROM ident
), seen AS (
    UPDATE users SET last_seen_at = GREATEST(last_seen_at, $11),
        avatar_fetch_due_at = CASE WHEN COALESCE($10, '') NOT IN ('', avatar_source) THEN $11 ELSE avatar_fetch_due_at END,
        avatar_fetch_failures = CASE WHEN COALESCE($10, '') NOT IN ('', avatar_source) THEN 0 ELSE avatar_fetch_failures END,
        avatar_source = CASE WHEN COALESCE($10, '') NOT IN ('', avatar_source) THEN $10 ELSE avatar_source END
    WHERE id = (SELECT user_id FROM ident)
), result AS (
    UPDATE oauth_states SET result = jsonb_build_object('kind', 'login', 'user_id', (SELECT user_id FROM ident))
    WHERE state = $16 AND EXISTS (SELECT 1 FROM ident)
), sess AS (
    INSERT INTO web_sessions (id, user_id, data, created_at, last_seen_at, expires_at, client, ip)
    SELECT $17::text, user_id, jsonb_build_object('uid', user_id, 'auth_at', $18::float8, 'auth_method', $13::text),
           $11, $11, $19, $14, $15
    FROM ident WHERE $17::text IS NOT NULL
)
SELECT {ACCOUNT_COLUMNS}, ident.profile_synced_at FROM users u JOIN ident ON u.id = ident.user_id
"""
# A new person in one statement: account, unionid, identity, login event and the callback's result.
# It writes nothing when the openid or the unionid is already known (the rules then link or log in);
# a concurrent first login of the same person surfaces as a unique violation.
CREATE_PERSON = f"""
WITH u AS (
    INSERT INTO users (display_name, avatar_source, avatar_fetch_due_at, created_at, updated_at, last_seen_at,
                       privacy_consent_at, privacy_consent_url)
    SELECT $13, COALESCE($10, ''), CASE WHEN COALESCE($10, '') = '' THEN NULL ELSE $11::timestamptz END, $11, $11, $11,
           $22::timestamptz, $23::text
    WHERE NOT EXISTS (SELECT 1 FROM wechat_identities WHERE appid = $1 AND openid = $2)
      AND NOT EXISTS (SELECT 1 FROM wechat_unions WHERE unionid = $12) AND $3::boolean IS NOT NULL
    RETURNING {ACCOUNT_COLUMNS.replace("u.", "")}
), un AS (
    INSERT INTO wechat_unions (unionid, user_id, created_at) SELECT $12, id, $11 FROM u WHERE $12::text IS NOT NULL
), i AS (
    INSERT INTO wechat_identities ({IDENTITY_COLUMNS})
    SELECT u.id, $1, $14, $2, $12, $4, $5, $6, $7, $8, COALESCE($9, ''), COALESCE($10, ''),
           CASE WHEN $9::text IS NULL THEN NULL ELSE $11::timestamptz END, 'active', $11, $11,
           $6::timestamptz - interval '15 minutes'
    FROM u
), ev AS (
    INSERT INTO security_events (user_id, kind, method, actor, client, ip, created_at)
    SELECT id, 'login', $15, 'user', $16, $17, $11 FROM u
), result AS (
    UPDATE oauth_states SET result = jsonb_build_object('kind', 'login', 'user_id', (SELECT id FROM u), 'created', true)
    WHERE state = $18 AND EXISTS (SELECT 1 FROM u)
), sess AS (
    INSERT INTO web_sessions (id, user_id, data, created_at, last_seen_at, expires_at, client, ip)
    SELECT $19::text, id, jsonb_build_object('uid', id, 'auth_at', $20::float8, 'auth_method', $15::text),
           $11, $11, $21, $16, $17
    FROM u WHERE $19::text IS NOT NULL
)
SELECT * FROM u
"""
UPDATE_IDENTITY = f"UPDATE wechat_identities i SET {TOKEN_SET} WHERE i.appid = $1 AND i.openid = $2"
INSERT_IDENTITY = """
INSERT INTO wechat_identities (
    user_id, appid, app_kind, openid, unionid, access_token_enc, refresh_token_enc, access_expires_at,
    refresh_expires_at, scope, nickname, avatar_url, profile_synced_at, status, created_at, updated_at, refresh_due_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, COALESCE($11, ''), COALESCE($12, ''),
        CASE WHEN $11::text IS NULL THEN NULL ELSE $13::timestamptz END, 'active', $13, $13,
        $8::timestamptz - interval '15 minutes')
"""
CREATE_USER = """
INSERT INTO users (display_name, avatar_source, avatar_fetch_due_at, created_at, updated_at, last_seen_at,
                   privacy_consent_at, privacy_consent_url)
VALUES ($1, $2, CASE WHEN $2 = '' THEN NULL ELSE $3::timestamptz END, $3, $3, $3, $4, $5)
RETURNING id
"""
