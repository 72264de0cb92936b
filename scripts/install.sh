#!/usr/bin/env bash
# Install vstreamd: the binary, a config, a pre-shared key and a systemd unit.
#
#   sudo scripts/install.sh                system service for a headless endpoint
#   scripts/install.sh --user              per-user service for a desktop (window)
#
# Options:
#   --binary PATH   install this prebuilt vstreamd instead of building ./cmd/vstreamd
#   --user          install for the current user: ~/.local/bin/vstreamd,
#                   ~/.config/vstreamd/{config.toml,psk}, ~/.config/systemd/user/vstreamd.service
#   --dry-run       print what would be done and change nothing
#   -h, --help      this text
#
# Environment:
#   DESTDIR         install under this directory instead of / (packaging, tests):
#                   no user is created, nothing is chown-ed, systemctl is not run.
#
# Safe to run again: the binary and the unit are replaced; an existing config
# and key are kept as they are.
set -euo pipefail

usage() { sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0"; }

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
binary=""
user_mode=0
dry_run=0
destdir=${DESTDIR:-}
destdir=${destdir%/}

while [ $# -gt 0 ]; do
	case $1 in
	--binary) [ $# -ge 2 ] || { echo "install.sh: --binary needs a path" >&2; exit 2; }
		binary=$2; shift 2 ;;
	--binary=*) binary=${1#--binary=}; shift ;;
	--user) user_mode=1; shift ;;
	--dry-run) dry_run=1; shift ;;
	-h | --help) usage; exit 0 ;;
	*) echo "install.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
	esac
done

say() { printf '%s\n' "$*"; }
warn() { printf 'install.sh: warning: %s\n' "$*" >&2; }
die() { printf 'install.sh: %s\n' "$*" >&2; exit 1; }

# run prints and runs a command, or only prints it with --dry-run.
run() {
	if [ "$dry_run" = 1 ]; then
		printf '+'; printf ' %q' "$@"; printf '\n'
	else
		"$@"
	fi
}

# owner_args prints install(1) ownership options, none under DESTDIR.
owner_args() { [ -n "$destdir" ] || printf -- '-o %s -g %s' "$1" "$2"; }

if [ "$user_mode" = 1 ]; then
	home=${HOME:?HOME is not set}
	bindir=$home/.local/bin
	confdir=$home/.config/vstreamd
	unitdir=$home/.config/systemd/user
	unit_src=$repo/scripts/systemd/vstreamd-user.service
	socket=/run/user/$(id -u)/vstreamd.sock
	[ "$(id -u)" != 0 ] || warn "--user as root installs for root; run it as the desktop user"
else
	bindir=/usr/local/bin
	confdir=/etc/vstreamd
	unitdir=/etc/systemd/system
	unit_src=$repo/scripts/systemd/vstreamd.service
	socket=""
	if [ -z "$destdir" ] && [ "$dry_run" = 0 ] && [ "$(id -u)" != 0 ]; then
		die "installing the system service needs root: run it with sudo, or use --user"
	fi
fi
bin=$destdir$bindir/vstreamd
conf=$destdir$confdir/config.toml
key=$destdir$confdir/psk
unit=$destdir$unitdir/vstreamd.service

# 1. The binary: prebuilt, or built from this checkout.
if [ -n "$binary" ]; then
	[ -x "$binary" ] || die "--binary $binary is not an executable file"
else
	command -v go >/dev/null || die "go is not installed: install Go, or pass --binary PATH"
	build_dir=$(mktemp -d)
	trap 'rm -rf "$build_dir"' EXIT
	binary=$build_dir/vstreamd
	say "building vstreamd (the first build of GoCV takes about a minute)"
	(cd "$repo" && run go build -o "$binary" ./cmd/vstreamd)
fi
run install -D -m 0755 "$binary" "$bin"
say "installed $bindir/vstreamd"

# 2. The system user, in group video for the cameras.
if [ "$user_mode" = 0 ] && [ -z "$destdir" ]; then
	if ! getent passwd vstreamd >/dev/null; then
		groups=(); getent group video >/dev/null && groups=(--groups video)
		run useradd --system --user-group "${groups[@]}" --home-dir /nonexistent \
			--no-create-home --shell /usr/sbin/nologin --comment "vstreamd video link" vstreamd
		say "created system user vstreamd"
	elif getent group video >/dev/null && ! id -nG vstreamd | tr ' ' '\n' | grep -qx video; then
		run usermod --append --groups video vstreamd
		say "added user vstreamd to group video"
	fi
fi
if [ "$user_mode" = 1 ] && ! id -nG | tr ' ' '\n' | grep -qx video; then
	say "note: you are not in group video; a camera is then usable only while logind grants your seat access to it"
fi

# 3. The config directory and config, only if there is none yet.
if [ "$user_mode" = 1 ]; then
	run install -d -m 0700 "$destdir$confdir"
else
	# shellcheck disable=SC2046 # owner_args is meant to split
	run install -d -m 0750 $(owner_args root vstreamd) "$destdir$confdir"
fi
if [ -e "$conf" ]; then
	say "kept the existing $confdir/config.toml"
else
	if [ "$user_mode" = 1 ]; then
		# Desktop: show the peer in a window; socket and key in the user's directories.
		edit=(-e "s|^socket = \".*\"|socket = \"$socket\"|" -e "s|^key_file = \".*\"|key_file = \"$confdir/psk\"|")
		check=("socket = \"$socket\"" "key_file = \"$confdir/psk\"" 'sink = "window"')
		mode=0600
	else
		# Headless: camera 0 in, nothing shown (sink "null" decodes and counts frames).
		edit=(-e 's|^source = ".*"|source = "camera:0"|' -e 's|^sink = ".*"|sink = "null"|')
		check=('source = "camera:0"' 'sink = "null"')
		mode=0640
	fi
	if [ "$dry_run" = 1 ]; then
		say "+ sed ${edit[*]} $repo/config.toml > $conf"
	else
		tmp=$(mktemp "$destdir$confdir/.config.XXXXXX")
		sed "${edit[@]}" "$repo/config.toml" >"$tmp"
		for line in "${check[@]}"; do
			grep -qxF "$line" "$tmp" || { rm -f "$tmp"; die "could not set '$line' in the config: has config.toml changed shape?"; }
		done
		chmod "$mode" "$tmp"
		[ -n "$destdir" ] || [ "$user_mode" = 1 ] || chown root:vstreamd "$tmp"
		mv "$tmp" "$conf"
	fi
	if [ "$user_mode" = 1 ]; then
		say "wrote $confdir/config.toml (sink = \"window\", socket = \"$socket\")"
	else
		say "wrote $confdir/config.toml for a headless endpoint: source = \"camera:0\", sink = \"null\""
	fi
fi

# 4. The pre-shared key, only if there is none yet. The daemon reads it as its
# own user, and refuses it if group or others can read it.
if [ -e "$key" ]; then
	say "kept the existing $confdir/psk"
	perm=$(stat -c %a "$key")
	case $perm in *00) ;; *) warn "$confdir/psk has mode $perm; vstreamd refuses a key others can read: chmod 600 $confdir/psk" ;; esac
elif [ "$dry_run" = 1 ]; then
	say "+ $bin genkey > $key (mode 0600)"
else
	tmp=$(umask 077 && mktemp "$destdir$confdir/.psk.XXXXXX")
	if ! "$bin" genkey >"$tmp" || [ ! -s "$tmp" ]; then
		rm -f "$tmp"
		die "'vstreamd genkey' failed, so there is no key yet; fix that and run install.sh again, or set [security] encryption = \"off\" in $confdir/config.toml"
	fi
	chmod 0600 "$tmp"
	[ -n "$destdir" ] || [ "$user_mode" = 1 ] || chown vstreamd:vstreamd "$tmp"
	mv "$tmp" "$key"
	say "generated a new key in $confdir/psk"
fi

# 5. The unit.
run install -D -m 0644 "$unit_src" "$unit"
say "installed $unitdir/vstreamd.service"
if [ -n "$destdir" ]; then
	say "DESTDIR set: not running systemctl daemon-reload"
elif [ "$user_mode" = 1 ]; then
	run systemctl --user daemon-reload || warn "systemctl --user daemon-reload failed; is a user session running?"
elif [ -d /run/systemd/system ]; then
	run systemctl daemon-reload
else
	warn "systemd is not running here: not reloading it"
fi

# 6. What is left to do.
if [ "$user_mode" = 1 ]; then
	ctl="systemctl --user" owner=you when=login
	status="$bindir/vstreamd status -config $confdir/config.toml"
else
	ctl="sudo systemctl" owner=vstreamd when=boot
	status="sudo vstreamd status"
fi
cat <<EOF

Next steps:
  1. Set peer in $confdir/config.toml to the other endpoint's HOST:PORT,
     and check source and sink.
  2. Give the other endpoint the same key: copy $confdir/psk to its
     $confdir/psk over a secure channel (scp), owner $owner, mode 0600.
  3. Check the config:   $bindir/vstreamd check-config -config $confdir/config.toml
  4. Start it now and at every $when:   $ctl enable --now vstreamd
  5. See how the call goes:   $status
EOF
