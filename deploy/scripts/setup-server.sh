#!/usr/bin/env bash
# setup-server.sh — first-time setup of the RP CRM server (Ubuntu 24.04,
# Debian 12, or Ubuntu 22.04 with nginx.org's nginx), safe to run again: every
# step checks before it changes.
#
#   sudo deploy/scripts/setup-server.sh --domain meinecrm.ch --email ops@meinecrm.ch
#   sudo deploy/scripts/setup-server.sh --dry-run ...   # print what would change
#
# Options (or environment variables):
#   --domain D     apex domain (DOMAIN); certificates for D, www.D, test.D, dev.D
#                  and every host in /opt/rp-crm/prod/tenants.json
#   --email E      Let's Encrypt account e-mail (LE_EMAIL); without it no certificate is requested
#   --mode M       systemd (default) or compose (MODE): how the environments run
#   --envs "..."   environments to set up (ENVS, default "prod test dev")
#   --dry-run      change nothing, print every command that would run (DRY_RUN=1)
#
# What it does:
#   1. packages: nginx, certbot, ufw, curl, PostgreSQL (systemd mode) or Docker (compose mode)
#   2. firewall: deny incoming, allow only 22, 80, 443
#   3. SSH: keys only (refused while root has no authorized key: no lock-out)
#   4. users rpcrm-ENV, directories /opt/rp-crm/{prod,test,dev,backups,marketing}
#   5. systemd mode: one PostgreSQL cluster per environment on 5432/5433/5434,
#      owner role rpcrm_owner and database rp_crm_ENV, env file, unit rpcrm@ENV
#      compose mode: compose files and env files per environment
#   6. nginx configuration from deploy/nginx (if present), certbot certificates,
#      renewal timer
# Secrets are generated once into the env files (mode 640) and never printed.
# See docs/operations.md.
set -Eeuo pipefail
umask 022

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
: "${DEPLOY_ROOT:=/opt/rp-crm}"
: "${DOMAIN:=}"
: "${LE_EMAIL:=}"
: "${MODE:=systemd}"
: "${ENVS:=prod test dev}"
: "${DRY_RUN:=}"
: "${PG_MAJOR:=}"   # default: the distribution's PostgreSQL
: "${SSHD_DROPIN:=/etc/ssh/sshd_config.d/50-rpcrm.conf}"
: "${SYSTEMD_DIR:=/etc/systemd/system}"
: "${NGINX_DIR:=/etc/nginx}"
: "${ACME_WEBROOT:=/var/www/letsencrypt}"  # nginx serves /.well-known/acme-challenge/ from here (docs/nginx.md)

while [ $# -gt 0 ]; do
	case $1 in
	--domain) DOMAIN=$2; shift 2 ;;
	--email) LE_EMAIL=$2; shift 2 ;;
	--mode) MODE=$2; shift 2 ;;
	--envs) ENVS=$2; shift 2 ;;
	--dry-run) DRY_RUN=1; shift ;;
	-h | --help) sed -n '2,30p' "$0"; exit 0 ;;
	*) echo "setup-server.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
	esac
done
case $MODE in systemd | compose) ;; *) echo "setup-server.sh: --mode must be systemd or compose" >&2; exit 2 ;; esac
for e in $ENVS; do
	case $e in prod | test | dev) ;; *) echo "setup-server.sh: unknown environment $e" >&2; exit 2 ;; esac
done
if [ -z "$DRY_RUN" ] && [ "$(id -u)" -ne 0 ]; then
	echo "setup-server.sh: run as root (or with --dry-run)" >&2
	exit 2
fi

say() { printf '== %s\n' "$*"; }
# do_ CMD...: run a changing command, or print it in a dry run.
do_() {
	if [ -n "$DRY_RUN" ]; then
		printf '+ %s\n' "$*"
	else
		"$@"
	fi
}
have() { command -v "$1" >/dev/null 2>&1; }
# psql_do PORT SQL: run SQL as postgres through stdin (no password in the
# process list); a dry run prints it with passwords masked.
psql_do() {
	if [ -n "$DRY_RUN" ]; then
		printf '+ psql -p %s: %s\n' "$1" "${2//\'*\'/\'***\'}"
	else
		runuser -u postgres -- psql -X -q -v ON_ERROR_STOP=1 -p "$1" <<<"$2"
	fi
}
pgport() { case $1 in prod) echo 5432 ;; test) echo 5433 ;; dev) echo 5434 ;; esac; }
appport() { case $1 in prod) echo 5000 ;; test) echo 5100 ;; dev) echo 5200 ;; esac; }
secret() { head -c 32 /dev/urandom | base64 | tr -d '/+=\n'; }

# --- 1. packages
say "packages"
pkgs=(nginx certbot python3-certbot-nginx ufw curl ca-certificates util-linux git make)
if [ "$MODE" = systemd ]; then
	pkgs+=(postgresql postgresql-contrib)
else
	pkgs+=(docker.io docker-compose-v2)
fi
missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	do_ env DEBIAN_FRONTEND=noninteractive apt-get update -qq
	do_ env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
else
	echo "all installed"
fi
# The nginx configuration needs ssl_reject_handshake (nginx 1.19.4 or newer):
# Ubuntu 22.04's nginx 1.18 is too old — use nginx.org's stable packages there
# (docs/nginx.md).
if have nginx; then
	nginx_version=$(nginx -v 2>&1 | sed -n 's|.*nginx/\([0-9.]*\).*|\1|p')
	if [ -n "$nginx_version" ] && [ "$(printf '%s\n' 1.19.4 "$nginx_version" | sort -V | head -n 1)" != 1.19.4 ]; then
		echo "setup-server: nginx $nginx_version is too old (1.19.4 or newer needed); install nginx.org's stable package, see docs/nginx.md" >&2
		exit 1
	fi
fi

# --- 2. firewall: only SSH, HTTP, HTTPS from outside
say "firewall (ufw): 22, 80, 443"
ufw_status=$( (have ufw && ufw status verbose) 2>/dev/null || true)
if ! grep -q "Default: deny (incoming)" <<<"$ufw_status"; then
	do_ ufw default deny incoming
	do_ ufw default allow outgoing
fi
for port in 22 80 443; do
	grep -Eq "^${port}/tcp +ALLOW IN" <<<"$ufw_status" || do_ ufw allow "$port/tcp"
done
grep -q "Status: active" <<<"$ufw_status" || do_ ufw --force enable

# --- 3. SSH: keys only
say "ssh: keys only"
want_sshd=$'# RP CRM: log in with SSH keys only.\nPasswordAuthentication no\nKbdInteractiveAuthentication no\nPermitRootLogin prohibit-password\n'
if [ -f "$SSHD_DROPIN" ] && [ "$(cat "$SSHD_DROPIN")"$'\n' = "$want_sshd" ]; then
	echo "already set"
elif ! compgen -G "/root/.ssh/authorized_keys" >/dev/null && ! compgen -G "/home/*/.ssh/authorized_keys" >/dev/null; then
	echo "WARNING: no authorized_keys found; password login stays on until you add a key (no lock-out)" >&2
else
	if [ -n "$DRY_RUN" ]; then
		printf '+ write %s\n' "$SSHD_DROPIN"
	else
		printf '%s' "$want_sshd" >"$SSHD_DROPIN"
		if ! sshd -t; then
			rm -f "$SSHD_DROPIN"
			echo "sshd rejects the new setting; left unchanged" >&2
			exit 1
		fi
		systemctl reload ssh 2>/dev/null || systemctl reload sshd
	fi
fi

# --- 4. users and directories
say "users and directories under $DEPLOY_ROOT"
for d in "$DEPLOY_ROOT" "$DEPLOY_ROOT/backups" "$DEPLOY_ROOT/marketing"; do
	[ -d "$d" ] || do_ install -d -m 0755 "$d"
done
# Backups hold every tenant's data: root and the backup group only.
getent group rpcrm-backup >/dev/null || do_ groupadd --system rpcrm-backup
for e in $ENVS; do
	u=rpcrm-$e
	id -u "$u" >/dev/null 2>&1 || do_ useradd --system --home-dir "$DEPLOY_ROOT/$e" --no-create-home --shell /usr/sbin/nologin --groups rpcrm-backup "$u"
	for d in "$DEPLOY_ROOT/$e" "$DEPLOY_ROOT/$e/bin" "$DEPLOY_ROOT/$e/data"; do
		[ -d "$d" ] || do_ install -d -m 0750 -o root -g "$u" "$d"
	done
	[ "$(stat -c %U "$DEPLOY_ROOT/$e/data" 2>/dev/null)" = "$u" ] || do_ chown "$u:$u" "$DEPLOY_ROOT/$e/data"
done
[ "$(stat -c %a "$DEPLOY_ROOT/backups" 2>/dev/null)" = 2770 ] || do_ chmod 2770 "$DEPLOY_ROOT/backups"
[ "$(stat -c %G "$DEPLOY_ROOT/backups" 2>/dev/null)" = rpcrm-backup ] || do_ chgrp rpcrm-backup "$DEPLOY_ROOT/backups"
# compose mode: the app containers run as uid 10001 (Dockerfile) and write
# their backups to the mounted /opt/rp-crm/backups.
if [ "$MODE" = compose ] && [ "$(stat -c %u "$DEPLOY_ROOT/backups" 2>/dev/null)" != 10001 ]; then
	do_ chown 10001 "$DEPLOY_ROOT/backups"
fi

# write_once FILE MODE OWNER CONTENT: create a file (secrets!) only if missing.
write_once() {
	local f=$1 mode=$2 owner=$3 content=$4
	if [ -e "$f" ]; then
		echo "keeping $f"
	elif [ -n "$DRY_RUN" ]; then
		printf '+ write %s (mode %s, owner %s)\n' "$f" "$mode" "$owner"
	else
		install -m "$mode" -o "${owner%%:*}" -g "${owner##*:}" /dev/null "$f"
		printf '%s' "$content" >"$f"
	fi
}

# --- 5. environments
for e in $ENVS; do
	say "environment $e ($MODE)"
	db=rp_crm_$e port=$(pgport "$e")
	owner_pw=$(secret) app_pw=$(secret) backup_pw=$(secret) jwt=$(secret)$(secret)
	write_once "$DEPLOY_ROOT/$e/tenants.json" 0640 "root:rpcrm-$e" '{"tenants": []}
'
	if [ "$MODE" = systemd ]; then
		# One cluster per environment: prod's load and restarts never touch test or dev.
		major=${PG_MAJOR:-$(find /usr/lib/postgresql -mindepth 1 -maxdepth 1 -printf '%f\n' 2>/dev/null | sort -n | tail -n 1)}
		major=${major:-16}
		if ! { have pg_lsclusters && pg_lsclusters -h 2>/dev/null | awk '{print $2, $3}' | grep -qx "$e $port"; }; then
			if [ "$e" = prod ] && have pg_lsclusters && pg_lsclusters -h 2>/dev/null | awk '{print $1, $2, $3}' | grep -qx "$major main 5432"; then
				# The package's own cluster holds 5432: it becomes prod's.
				do_ pg_renamecluster "$major" main prod
			else
				do_ pg_createcluster "$major" "$e" --port "$port" --start-conf auto -- --auth-local=peer --auth-host=scram-sha-256
			fi
			do_ pg_ctlcluster "$major" "$e" start
		fi
		if [ -n "$DRY_RUN" ] || ! runuser -u postgres -- psql -p "$port" -tAqc "SELECT 1 FROM pg_roles WHERE rolname='rpcrm_owner'" 2>/dev/null | grep -q 1; then
			psql_do "$port" "CREATE ROLE rpcrm_owner LOGIN CREATEROLE PASSWORD '$owner_pw'"
		else
			owner_pw=""
		fi
		if [ -n "$DRY_RUN" ] || ! runuser -u postgres -- psql -p "$port" -tAqc "SELECT 1 FROM pg_database WHERE datname='$db'" 2>/dev/null | grep -q 1; then
			do_ runuser -u postgres -- createdb -p "$port" -O rpcrm_owner -E UTF8 --locale=C.UTF-8 -T template0 "$db"
		fi
		# Backups run as their own role that may bypass row-level security
		# (docs/backups.md); the application role never can.
		# An env file from before the backup role lacks its URL: the role gets
		# a new password, and the URL is added to the file.
		envf=$DEPLOY_ROOT/$e/rpcrm.env add_backup_url=""
		if [ -f "$envf" ] && ! grep -q '^RPCRM_BACKUP_DATABASE_URL=' "$envf"; then
			add_backup_url=1
		fi
		if [ -n "$DRY_RUN" ] || ! runuser -u postgres -- psql -p "$port" -tAqc "SELECT 1 FROM pg_roles WHERE rolname='rpcrm_backup'" 2>/dev/null | grep -q 1; then
			psql_do "$port" "CREATE ROLE rpcrm_backup LOGIN BYPASSRLS PASSWORD '$backup_pw'; GRANT pg_read_all_data TO rpcrm_backup"
		elif [ -n "$add_backup_url" ]; then
			psql_do "$port" "ALTER ROLE rpcrm_backup PASSWORD '$backup_pw'"
		else
			backup_pw=""
		fi
		if [ -n "$add_backup_url" ] && [ -n "$backup_pw" ]; then
			if [ -n "$DRY_RUN" ]; then
				printf '+ append RPCRM_BACKUP_DATABASE_URL to %s\n' "$envf"
			else
				printf 'RPCRM_BACKUP_DATABASE_URL=postgres://rpcrm_backup:%s@127.0.0.1:%s/%s\n' "$backup_pw" "$port" "$db" >>"$envf"
			fi
		fi
		if [ -n "$owner_pw" ]; then
			write_once "$DEPLOY_ROOT/$e/rpcrm.env" 0640 "root:rpcrm-$e" "RPCRM_ENV=$e
RPCRM_LISTEN=127.0.0.1:$(appport "$e")
DATABASE_URL=postgres://rpcrm_app:$app_pw@127.0.0.1:$port/$db
RPCRM_DATABASE_OWNER_URL=postgres://rpcrm_owner:$owner_pw@127.0.0.1:$port/$db
RPCRM_TENANTS_FILE=$DEPLOY_ROOT/$e/tenants.json
RPCRM_DATA_DIR=$DEPLOY_ROOT/$e/data
RPCRM_TRUSTED_PROXIES=127.0.0.1
RPCRM_METRICS_ALLOW=127.0.0.1,::1
RPCRM_JWT_SECRET=$jwt
RPCRM_MIGRATE_ON_START=false
RPCRM_BACKUP_DIR=$DEPLOY_ROOT/backups
${backup_pw:+RPCRM_BACKUP_DATABASE_URL=postgres://rpcrm_backup:$backup_pw@127.0.0.1:$port/$db}
"
		fi
		for f in rpcrm@.service "rpcrm@$e.service.d/limits.conf"; do
			if ! cmp -s "$REPO/deploy/systemd/$f" "$SYSTEMD_DIR/$f"; then
				do_ install -D -m 0644 "$REPO/deploy/systemd/$f" "$SYSTEMD_DIR/$f"
				units_changed=1
			fi
		done
		# The daily backup at 02:00 (docs/backups.md).
		for f in rpcrm-backup@.service rpcrm-backup@.timer; do
			if ! cmp -s "$REPO/deploy/backup/$f" "$SYSTEMD_DIR/$f"; then
				do_ install -D -m 0644 "$REPO/deploy/backup/$f" "$SYSTEMD_DIR/$f"
				units_changed=1
			fi
		done
	else
		for f in compose.common.yml "compose.$e.yml"; do
			cmp -s "$REPO/deploy/compose/$f" "$DEPLOY_ROOT/$e/$f" || do_ install -m 0644 "$REPO/deploy/compose/$f" "$DEPLOY_ROOT/$e/$f"
		done
		write_once "$DEPLOY_ROOT/$e/$e.env" 0600 root:root "$(sed -e "s/CHANGE-ME-OWNER-PASSWORD/$owner_pw/g" \
			-e "s/CHANGE-ME-APP-PASSWORD/$app_pw/g" -e "s/CHANGE-ME-JWT-SECRET/$jwt/g" \
			-e "s/CHANGE-ME-BACKUP-PASSWORD/$backup_pw/g" "$REPO/deploy/compose/$e.env.example")
"
	fi
done
if [ -n "${units_changed:-}" ]; then
	do_ systemctl daemon-reload
fi
if [ "$MODE" = systemd ]; then
	echo "next: install the binary to $DEPLOY_ROOT/ENV/bin/rpcrm, run 'rpcrm migrate --env-file $DEPLOY_ROOT/ENV/rpcrm.env', then 'systemctl enable --now rpcrm@ENV rpcrm-backup@ENV.timer' (docs/operations.md)"
else
	echo "next: docker build -t rpcrm:ENV $REPO, then 'docker compose -f compose.ENV.yml --env-file ENV.env up -d' in $DEPLOY_ROOT/ENV (docs/operations.md)"
fi

# --- 6. nginx and certificates
say "nginx and certificates"
# nginx_reload: check the configuration, then reload (a reload drops no request).
nginx_reload() {
	if [ -n "$DRY_RUN" ]; then
		printf '+ nginx -t && systemctl reload nginx\n'
	elif have nginx; then
		nginx -t && systemctl reload nginx
	fi
}
# nginx_enable NAME: link sites-available/NAME into sites-enabled.
nginx_enable() {
	[ -e "$NGINX_DIR/sites-enabled/$1" ] || do_ ln -s "../sites-available/$1" "$NGINX_DIR/sites-enabled/$1"
}
if [ -n "$DOMAIN" ]; then
	# The configuration of deploy/nginx rendered for the domain (docs/nginx.md);
	# only files that differ are installed. First the port-80 server alone,
	# which serves the ACME challenges certbot needs for the first certificate.
	rendered=$(mktemp -d)
	trap 'rm -rf "$rendered"' EXIT
	"$REPO/deploy/nginx/render.sh" "$DOMAIN" "$rendered" >/dev/null
	for f in "$rendered"/sites-available/*.conf "$rendered"/snippets/*.conf; do
		rel=${f#"$rendered"/}
		cmp -s "$f" "$NGINX_DIR/$rel" || do_ install -D -m 0644 "$f" "$NGINX_DIR/$rel"
	done
	# Debian's default site claims default_server on port 80.
	[ ! -e "$NGINX_DIR/sites-enabled/default" ] || do_ rm -f "$NGINX_DIR/sites-enabled/default"
	[ -d "$ACME_WEBROOT" ] || do_ install -d -m 0755 "$ACME_WEBROOT"
	nginx_enable rpcrm-http.conf
	nginx_reload
fi
# The marketing page (apex and www) with nginx's error pages.
if [ -d "$REPO/marketing" ] && ! diff -rq "$REPO/marketing" "$DEPLOY_ROOT/marketing" >/dev/null 2>&1; then
	do_ cp -rT "$REPO/marketing" "$DEPLOY_ROOT/marketing"
fi
if [ -z "$DOMAIN" ] || [ -z "$LE_EMAIL" ]; then
	echo "no --domain/--email: no certificate requested"
else
	hosts=("$DOMAIN" "www.$DOMAIN" "test.$DOMAIN" "dev.$DOMAIN")
	if [ -f "$DEPLOY_ROOT/prod/tenants.json" ]; then
		while IFS= read -r h; do hosts+=("$h"); done < <(grep -o '"hosts"[^]]*' "$DEPLOY_ROOT/prod/tenants.json" | grep -o '"[a-z0-9.-]*\.[a-z]*"' | tr -d '"')
	fi
	args=()
	for h in "${hosts[@]}"; do args+=(-d "$h"); done
	if [ -d "/etc/letsencrypt/live/$DOMAIN" ]; then
		echo "certificate for $DOMAIN exists (certbot renews it: certbot.timer)"
	else
		do_ certbot certonly --webroot -w "$ACME_WEBROOT" --agree-tos --non-interactive -m "$LE_EMAIL" --cert-name "$DOMAIN" \
			--deploy-hook "systemctl reload nginx" "${args[@]}"
	fi
	if have systemctl && ! systemctl is-enabled --quiet certbot.timer 2>/dev/null; then
		do_ systemctl enable --now certbot.timer
	fi
fi
# HTTPS once the certificate is there (its paths are in snippets/rpcrm-tls.conf).
if [ -n "$DOMAIN" ]; then
	if [ -n "$DRY_RUN" ] || [ -f "/etc/letsencrypt/live/$DOMAIN/fullchain.pem" ]; then
		nginx_enable rpcrm.conf
		nginx_reload
	else
		echo "no certificate for $DOMAIN yet: HTTPS (sites-enabled/rpcrm.conf) stays off; run again with --email" >&2
	fi
fi
say "done${DRY_RUN:+ (dry run: nothing changed)}"
