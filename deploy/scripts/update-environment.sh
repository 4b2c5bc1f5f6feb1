#!/usr/bin/env bash
# update-environment.sh ENV — update one RP CRM environment (prod, test, dev)
# safely:
#
#   1. take a backup (rpcrm backup; its last stdout line is the manifest path)
#   2. build the new version (git pull + make build, or docker build)
#   3. stop the service, run the migrations with the new version
#   4. install the new version, start it, wait for /readyz
#   5. if the migration or the health check fails: put the previous
#      binary/image back, restore the database (and the documents: the current
#      uploads directory is moved aside) from the fresh backup when the
#      schema was touched, start the previous version, wait for /readyz, exit 1
#
# Every step is a command that can be replaced through the environment (see
# the defaults below); the defaults drive systemd (UPDATE_MODE=systemd,
# the default) or docker compose (UPDATE_MODE=compose). The test in
# deploy/scripts/update_test.go runs this script against local processes.
# See docs/operations.md.
#
# Exit codes: 0 updated; 1 failed and rolled back (the previous version runs);
# 2 usage; 3 failed and the rollback failed too (act now, see the log).
set -Eeuo pipefail
umask 027

usage() {
	echo "usage: $0 prod|test|dev" >&2
	exit 2
}
[ $# -eq 1 ] || usage
ENV_NAME=$1
case $ENV_NAME in
prod) PORT=5000 PGPORT=5432 ;;
test) PORT=5100 PGPORT=5433 ;;
dev) PORT=5200 PGPORT=5434 ;;
*) usage ;;
esac

: "${DEPLOY_ROOT:=/opt/rp-crm}"
: "${ENV_DIR:=$DEPLOY_ROOT/$ENV_NAME}"
: "${UPDATE_MODE:=systemd}"
: "${SRC_DIR:=$ENV_DIR/src}"          # git checkout the new version is built from
: "${GIT_REF:=origin/main}"           # what to deploy (a tag for prod, e.g. v1.4.0)
: "${READY_URL:=http://127.0.0.1:$PORT/readyz}"
: "${READY_TIMEOUT:=60}"              # seconds to wait for /readyz
: "${LOCK_FILE:=$ENV_DIR/.update.lock}"
: "${LOG_FILE:=$ENV_DIR/update.log}"

case $UPDATE_MODE in
systemd)
	: "${ENV_FILE:=$ENV_DIR/rpcrm.env}"
	: "${APP_BIN:=$ENV_DIR/bin/rpcrm}"   # the binary the unit runs
	: "${NEW_BIN:=}"                       # a ready new binary; empty = build from SRC_DIR
	: "${BUILD_CMD:=git -C \"\$SRC_DIR\" fetch --tags --quiet origin && git -C \"\$SRC_DIR\" checkout --quiet --detach \"\$GIT_REF\" && { [ ! -f \"\$SRC_DIR/package-lock.json\" ] || (cd \"\$SRC_DIR\" && npm ci --no-audit --no-fund --ignore-scripts); } && CGO_ENABLED=0 make -C \"\$SRC_DIR\" build && cp \"\$SRC_DIR/bin/rpcrm\" \"\$NEW_BIN\"}"
	: "${START_CMD:=systemctl start rpcrm@$ENV_NAME.service}"
	: "${STOP_CMD:=systemctl stop rpcrm@$ENV_NAME.service}"
	# Fails once the service has exited: no need to wait for READY_TIMEOUT then.
	: "${ALIVE_CMD:=systemctl is-active --quiet rpcrm@$ENV_NAME.service}"
	# How to run the current / the new version, and the flags that give it
	# its configuration. Backup and restore run as the service's user (as the
	# backup timer does): the documents they write, and the backup lock and
	# status files, must stay the service's. RUN_AS= (empty) runs as yourself.
	RUN_AS=${RUN_AS-rpcrm-$ENV_NAME}
	if [ -n "$RUN_AS" ] && [ "$(id -u)" -eq 0 ]; then
		: "${RUN_CUR:=runuser -u \"$RUN_AS\" -- \"\$APP_BIN\"}"
	fi
	: "${RUN_CUR:=\"\$APP_BIN\"}"
	: "${RUN_NEW:=\"\$NEW_BIN\"}"
	: "${ENV_ARGS:=--env-file \"\$ENV_FILE\"}"
	# Recreate an empty database for a restore (restore needs an empty one).
	: "${DB_RESET_CMD:=runuser -u postgres -- dropdb -p $PGPORT --if-exists --force rp_crm_$ENV_NAME && runuser -u postgres -- createdb -p $PGPORT -O rpcrm_owner rp_crm_$ENV_NAME}"
	# ... and an empty uploads directory: move the documents aside (kept).
	: "${DATA_DIR:=$ENV_DIR/data}"   # RPCRM_DATA_DIR of the env file
	: "${UPLOADS_ASIDE_CMD:=d=\"\$DATA_DIR/uploads\"; [ ! -e \"\$d\" ] || mv \"\$d\" \"\$d.before-rollback-\$(date -u +%Y%m%d_%H%M%S)\"}"
	;;
compose)
	: "${ENV_FILE:=$ENV_DIR/$ENV_NAME.env}"
	: "${COMPOSE_FILE:=$ENV_DIR/compose.$ENV_NAME.yml}"
	: "${IMAGE:=rpcrm:$ENV_NAME}"
	COMPOSE="docker compose -f \"\$COMPOSE_FILE\" --env-file \"\$ENV_FILE\""
	: "${BUILD_CMD:=git -C \"\$SRC_DIR\" fetch --tags --quiet origin && git -C \"\$SRC_DIR\" checkout --quiet --detach \"\$GIT_REF\" && docker build --build-arg VERSION=\"\$(git -C \"\$SRC_DIR\" describe --tags --always)\" -t \"\$IMAGE-new\" \"\$SRC_DIR\"}"
	: "${START_CMD:=$COMPOSE up -d --no-deps app}"
	: "${STOP_CMD:=$COMPOSE stop app}"
	: "${ALIVE_CMD:=[ -n \"\$($COMPOSE ps -q --status running app)\" ]}"
	: "${RUN_CUR:=APP_IMAGE=\"\$IMAGE\" $COMPOSE run --rm --no-deps -T app}"
	: "${RUN_NEW:=APP_IMAGE=\"\$IMAGE-new\" $COMPOSE run --rm --no-deps -T app}"
	: "${ENV_ARGS:=}" # compose passes the env file to the container
	# shellcheck disable=SC2016 # $POSTGRES_DB expands inside the container
	: "${DB_RESET_CMD:=$COMPOSE exec -T db sh -c 'dropdb -U rpcrm_owner --if-exists --force \"\$POSTGRES_DB\" --maintenance-db=postgres && createdb -U rpcrm_owner \"\$POSTGRES_DB\" --maintenance-db=postgres'}"
	# shellcheck disable=SC2016 # $d expands inside the container
	: "${UPLOADS_ASIDE_CMD:=$COMPOSE run --rm --no-deps -T --entrypoint sh app -c 'd=/var/lib/rpcrm/uploads; [ ! -e \"\$d\" ] || mv \"\$d\" \"\$d.before-rollback-\$(date -u +%Y%m%d_%H%M%S)\"'}"
	;;
*)
	echo "UPDATE_MODE must be systemd or compose" >&2
	exit 2
	;;
esac
# Backup and restore (rpcrm backup prints the manifest path as its last line;
# rpcrm restore needs an empty database).
: "${BACKUP_CMD:=$RUN_CUR backup $ENV_ARGS}"
: "${RESTORE_CMD:=$RUN_CUR restore $ENV_ARGS --manifest \"\$MANIFEST\"}"
: "${MIGRATE_CMD:=$RUN_NEW migrate $ENV_ARGS up}"
# Prints the schema version a build needs ("rpcrm vX (schema N)").
: "${SCHEMA_CUR_CMD:=$RUN_CUR version}"
: "${SCHEMA_NEW_CMD:=$RUN_NEW version}"

export ENV_NAME ENV_DIR ENV_FILE SRC_DIR GIT_REF PORT PGPORT
export DATA_DIR="${DATA_DIR:-}"
export APP_BIN="${APP_BIN:-}" NEW_BIN="${NEW_BIN:-}" IMAGE="${IMAGE:-}" COMPOSE_FILE="${COMPOSE_FILE:-}"
MANIFEST=""
export MANIFEST

log() { printf '%s update-environment %s: %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$ENV_NAME" "$*" | tee -a "$LOG_FILE" >&2; }
# run CMD: one step; the update lock (fd 9) is not passed on, or a server
# started here would hold it.
run() { bash -c "$1" 9>&-; }

# One update per environment at a time.
mkdir -p "$(dirname "$LOCK_FILE")" "$(dirname "$LOG_FILE")"
exec 9>"$LOCK_FILE"
if ! flock -n 9; then
	echo "another update of $ENV_NAME is running ($LOCK_FILE)" >&2
	exit 1
fi

# wait_ready: poll READY_URL until it answers 200, or until READY_TIMEOUT
# passes or ALIVE_CMD says the service has exited.
wait_ready() {
	local deadline=$((SECONDS + READY_TIMEOUT))
	while [ $SECONDS -lt $deadline ]; do
		if curl -fsS -o /dev/null --max-time 3 "$READY_URL" 2>/dev/null; then
			return 0
		fi
		if [ -n "${ALIVE_CMD:-}" ] && ! run "$ALIVE_CMD"; then
			log "the service has exited"
			return 1
		fi
		sleep 0.5
	done
	return 1
}

schema_of() { { run "$1" 2>/dev/null || true; } | sed -n 's/.*(schema \([0-9]*\)).*/\1/p' | tail -n 1; }

# --- prepare the previous version for a rollback, the new one for the update
install_new() {
	case $UPDATE_MODE in
	systemd)
		cp -p "$APP_BIN" "$APP_BIN.prev" &&
			cp "$NEW_BIN" "$APP_BIN.tmp" && chmod 0755 "$APP_BIN.tmp" && mv -f "$APP_BIN.tmp" "$APP_BIN"
		;;
	compose)
		docker tag "$IMAGE" "$IMAGE-prev" && docker tag "$IMAGE-new" "$IMAGE"
		;;
	esac
}
reinstate_previous() {
	case $UPDATE_MODE in
	systemd) [ ! -f "$APP_BIN.prev" ] || mv -f "$APP_BIN.prev" "$APP_BIN" ;;
	compose) docker tag "$IMAGE-prev" "$IMAGE" ;;
	esac
}

# rollback REASON DB: bring the previous version back; DB=yes also restores
# the database from the fresh backup.
rollback() {
	local reason=$1 restore_db=$2 ok=yes
	log "FAILED: $reason — rolling back"
	run "$STOP_CMD" || true
	[ "$INSTALLED" = no ] || reinstate_previous || ok=no
	if [ "$restore_db" = yes ]; then
		log "restoring the database from $MANIFEST"
		# rpcrm restore needs an empty database and an empty uploads directory.
		if run "$DB_RESET_CMD" && run "$UPLOADS_ASIDE_CMD" && run "$RESTORE_CMD"; then
			log "database restored"
		else
			ok=no
			log "database restore FAILED: restore $MANIFEST by hand (docs/backups.md)"
		fi
	fi
	if run "$START_CMD" && wait_ready; then
		log "previous version running and ready"
	else
		ok=no
		log "previous version does NOT answer $READY_URL"
	fi
	if [ $ok = yes ]; then
		log "rolled back; update failed: $reason"
		exit 1
	fi
	log "ROLLBACK INCOMPLETE: $reason"
	exit 3
}

INSTALLED=no
log "update to $GIT_REF ($UPDATE_MODE)"

# 1. Backup first: without a fresh backup nothing changes.
out=$(run "$BACKUP_CMD") || { log "backup failed; nothing changed"; exit 1; }
MANIFEST=$(printf '%s\n' "$out" | sed '/^[[:space:]]*$/d' | tail -n 1)
if [ -z "$MANIFEST" ]; then
	log "backup printed no manifest; nothing changed"
	exit 1
fi
log "backup: $MANIFEST"

# 2. Build the new version while the old one still serves.
if [ "$UPDATE_MODE" = systemd ] && [ -z "$NEW_BIN" ]; then
	NEW_BIN="$APP_BIN.new"
fi
if [ "$UPDATE_MODE" = compose ] || [ ! -x "$NEW_BIN" ] || [ -n "${FORCE_BUILD:-}" ]; then
	run "$BUILD_CMD" || { log "build failed; nothing changed"; exit 1; }
fi
cur_schema=$(schema_of "$SCHEMA_CUR_CMD")
new_schema=$(schema_of "$SCHEMA_NEW_CMD")
if [ -z "$new_schema" ]; then
	log "the new version does not run ($SCHEMA_NEW_CMD); nothing changed"
	exit 1
fi
log "schema: current version needs ${cur_schema:-?}, new version ${new_schema}"

# 3. Stop, then migrate with the new version: the old one refuses a newer
# schema, so it must not serve during and after the migration.
run "$STOP_CMD" || log "stop reported an error; continuing"
if ! run "$MIGRATE_CMD"; then
	rollback "migration failed" yes
fi

# 4. Install and start the new version.
install_new || rollback "installing the new version failed" yes
INSTALLED=yes
if ! run "$START_CMD"; then
	rollback "start failed" "$([ "$cur_schema" = "$new_schema" ] && echo no || echo yes)"
fi
if ! wait_ready; then
	# The old version refuses the new schema: restore the database only when
	# the migration changed it.
	rollback "$READY_URL not ready" "$([ "$cur_schema" = "$new_schema" ] && echo no || echo yes)"
fi
[ "$UPDATE_MODE" != compose ] || docker image rm "$IMAGE-new" >/dev/null 2>&1 || true
log "updated and ready (schema $new_schema)"
