#!/bin/sh
# The entrypoint of every platform image (deploy/Dockerfile). SERVICE is baked into the image.
#
#   (no arguments)   the image's own process: `python -m $SERVICE` (the SMTP sink for devtools);
#                    for the four nameko services their migrations run first
#   migrate          only the migrations (`alembic upgrade head` in the service's directory)
#   COMMAND ARGS...  that command, e.g. `python -m notifications.sender` on the notifications
#                    image; `python -m <SERVICE>` for a nameko service migrates first, like the default
#
# MIGRATE_ON_START=false skips the migrations before a service starts (Kubernetes runs them in an
# initContainer instead). Migrations take an advisory lock, so replicas starting together are safe.
set -eu

: "${SERVICE:?SERVICE is not set (the image is built with --build-arg SERVICE=...)}"
APP_DIR="${PORTAL_APP_DIR:-/app}"

has_migrations() {
    case "$SERVICE" in
        contacts | properties | invitations | notifications) return 0 ;;
        *) return 1 ;;
    esac
}

migrate() {
    if ! has_migrations; then
        echo "entrypoint: $SERVICE has no migrations" >&2
        return 1
    fi
    echo "entrypoint: migrating $SERVICE (alembic upgrade head)" >&2
    # A subshell, so the service itself still starts in the working directory it was given.
    (cd "$APP_DIR/$SERVICE" && alembic upgrade head)
}

if [ "$#" -eq 0 ]; then
    case "$SERVICE" in
        devtools) set -- python -m devtools.smtp_sink --host 0.0.0.0 --smtp-port 1025 --http-port 8025 ;;
        *) set -- python -m "$SERVICE" ;;
    esac
fi

if [ "$1" = "migrate" ]; then
    [ "$#" -eq 1 ] || { echo "entrypoint: migrate takes no arguments" >&2; exit 2; }
    migrate
    exit 0
fi

if [ "$#" -eq 3 ] && [ "$1" = "python" ] && [ "$2" = "-m" ] && [ "$3" = "$SERVICE" ] && has_migrations; then
    case "${MIGRATE_ON_START:-true}" in
        false | 0 | no) echo "entrypoint: MIGRATE_ON_START=${MIGRATE_ON_START}; not migrating" >&2 ;;
        *) migrate ;;
    esac
fi

# exec: the service becomes PID 1 and receives SIGTERM itself (each one shuts down cleanly on it).
exec "$@"
