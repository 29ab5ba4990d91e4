-- Throwaway Prosody 0.12 config for loopback benchmarking. Loopback only. As prosody-tuned.cfg.lua,
-- plus the rooms' archive (MAM) in PostgreSQL: the durable-ingest workload (W7).
pidfile = "__DIR__/prosody.pid"
data_path = "__DIR__/data"
daemonize = false
-- bind only to loopback, non-standard ports
interfaces = { "127.0.0.1" }
local_interfaces = { "127.0.0.1" }
c2s_ports = { 55222 }
c2s_direct_tls_ports = { }
s2s_ports = { }
s2s_interfaces = { "127.0.0.1" }
component_ports = { }
component_interfaces = { "127.0.0.1" }
http_ports = { 55280 }
http_interfaces = { "127.0.0.1" }
https_ports = { }
https_interfaces = { "127.0.0.1" }
network_backend = "epoll"
network_settings = { nagle = false; opportunistic_writes = true; tcp_backlog = 1024; }
tcp_backlog = 1024
admins = { }
modules_enabled = {
  "roster"; "saslauth"; "disco"; "ping";
}
modules_disabled = { "s2s"; "offline"; "c2s_limits" }
-- no TLS on loopback; plaintext SASL PLAIN allowed for the benchmark
c2s_require_encryption = false
allow_unencrypted_plain_auth = true
authentication = "internal_plain"
-- Only the rooms' archive lives in PostgreSQL; accounts stay in files.
storage = { muc_log = "sql" }
sql = { driver = "PostgreSQL"; database = "__PG_DATABASE__"; host = "127.0.0.1"; port = __PG_PORT__; username = "postgres"; password = "" }
sql_manage_tables = true
log = {
  warn = "__DIR__/log/prosody.log";
}
statistics = nil
VirtualHost "localhost"
  ssl = nil
Component "conference.localhost" "muc"
  muc_room_locking = false
  muc_room_default_history_length = 0
  max_history_messages = 0
  restrict_room_creation = false
  muc_tombstones = false
  modules_enabled = { "muc_mam" }
  muc_log_by_default = true
  muc_log_all_rooms = true
