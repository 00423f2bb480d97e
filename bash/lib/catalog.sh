#!/usr/bin/env bash
# shellcheck disable=SC2034,SC2192 # data only (read by the other libraries); `[none]=` is an empty value
# The service catalogue (docs/driver-protocol.md "Service catalogue"): what differs per service, as
# data only. Hand-written until scripts/gen-catalog.mjs generates it from src/catalog/; the variable
# names below are the agreed ones. Paths are relative to the sandbox directory; %PORT% is its port.

[[ -n "${IACT_CATALOG_SH:-}" ]] && return 0
IACT_CATALOG_SH=1

IACT_SERVICES='postgres mysql redis none'
declare -gA IACT_CAT_OS_USER=([postgres]=postgres [mysql]=mysql [redis]=redis [none]=root)
declare -gA IACT_CAT_PIDFILE=([postgres]=data/postmaster.pid [mysql]=run/mariadbd.pid [redis]=run/redis.pid [none]=)
declare -gA IACT_CAT_SOCKET=([postgres]=run/.s.PGSQL.%PORT% [mysql]=run/mysqld.sock [redis]=run/redis.sock [none]=)
declare -gA IACT_CAT_STOP_SIGNAL=([postgres]=INT [mysql]=TERM [redis]=TERM [none]=TERM)
declare -gA IACT_CAT_CONFIG_FILE=([postgres]=data/iact.conf [mysql]=conf/my.cnf [redis]=conf/redis.conf [none]=)
declare -gA IACT_CAT_CONFIG_FORMAT=([postgres]=postgresql [mysql]=ini [redis]=redis [none]=)
declare -gA IACT_CAT_RELOADABLE=(
  [postgres]='work_mem maintenance_work_mem statement_timeout lock_timeout idle_in_transaction_session_timeout log_statement log_min_duration_statement log_min_messages log_connections log_disconnections search_path default_transaction_isolation effective_cache_size random_page_cost timezone'
  [mysql]='max_connections wait_timeout interactive_timeout long_query_time slow_query_log general_log sql_mode max_allowed_packet sort_buffer_size join_buffer_size'
  [redis]='maxmemory maxmemory-policy timeout tcp-keepalive loglevel notify-keyspace-events slowlog-log-slower-than slowlog-max-len hz appendonly save'
  [none]=
)
declare -gA IACT_CAT_RESERVED=(
  [postgres]='port listen_addresses unix_socket_directories data_directory hba_file ident_file config_file external_pid_file'
  [mysql]='port bind_address socket datadir pid_file skip_networking user log_error'
  [redis]='port bind unixsocket unixsocketperm dir requirepass protected_mode pidfile logfile daemonize include'
  [none]=
)
declare -gA IACT_CAT_ADMIN_USERS=([postgres]='postgres' [mysql]='root mysql mariadb.sys' [redis]= [none]=)
declare -gA IACT_CAT_HAS_DATABASE=([postgres]=1 [mysql]=1 [redis]=0 [none]=0)
declare -gA IACT_CAT_BACKUP_EXT=([postgres]=sql [mysql]=sql [redis]=rdb [none]=tar)
declare -gA IACT_CAT_DEFAULT_IMAGE=([postgres]=iact/postgres:15 [mysql]=iact/mariadb:10.11 [redis]=iact/redis:7 [none]=)
declare -gA IACT_CAT_CONTAINER_PORT=([postgres]=5432 [mysql]=3306 [redis]=6379 [none]=)
declare -gA IACT_CAT_CONTAINER_DATA=([postgres]=/var/lib/postgresql/data [mysql]=/var/lib/mysql [redis]=/data [none]=)
declare -gA IACT_CAT_DRIVERS=([postgres]='lightweight namespace docker' [mysql]='lightweight namespace docker' [redis]='lightweight namespace docker' [none]='lightweight namespace docker')
declare -gA IACT_CAT_INSTALL_HINT=([postgres]='apt-get install -y postgresql' [mysql]='apt-get install -y mariadb-server' [redis]='apt-get install -y redis-server' [none]=)
