"""Operations: Prometheus metrics, structured and escaped logs, request ids, and the readiness probe.

metrics      typed calls the site makes (logins, WeChat calls, refresh, states, throttles) and /metrics' body
labels       the fixed label values those calls accept
registry     the metric definitions, one set per process, and the multiprocess switch
logs         configure_logging(settings): text or JSON lines, control characters escaped
escape       the escaping every logged value goes through
context      the request id and the request a log line belongs to
wiring       setup_observability(app): middleware, X-Request-ID header, pool gauge, readiness head
readiness    is the database up and at the migrations' head
views        GET /metrics and GET /readyz
wechat       one log line and the metrics for one WeChat API call
"""
