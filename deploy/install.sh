#!/bin/sh
# Runs in deploy/Dockerfile's build stage, in a copy of the repository (/src): installs `shared`
# and SERVICE's package into /opt/venv, and puts the service's migrations in /app/SERVICE.
set -eu

case "${SERVICE:-}" in
    contacts | properties | invitations) shared="shared[service]" package="services/$SERVICE" ;;
    notifications) shared="shared[service,client]" package="services/notifications" ;;
    portal_gateway) shared="shared[client]" package="services/portal_gateway" ;;
    # The local runner in devtools seeds through the gateway's admin command.
    devtools) shared="shared[client]" package="devtools" also="services/portal_gateway" ;;
    *)
        echo "build with --build-arg SERVICE=contacts|properties|invitations|notifications|portal_gateway|devtools (got '${SERVICE:-}')" >&2
        exit 2
        ;;
esac

python -m venv /opt/venv
/opt/venv/bin/python -m pip install --quiet pip==26.3
# Not editable: the packages, with their templates and static files, land in site-packages.
# constraints.txt pins every transitive version; it must hold only `name==version` lines.
/opt/venv/bin/python -m pip install --quiet -c constraints.txt "./$shared" ${also:+"./$also"} "./$package"
# The installers are not needed to run, and the final image carries neither.
/opt/venv/bin/python -m pip uninstall --quiet --yes pip setuptools

# The migrations run from the service's directory: alembic.ini and alembic/ (env.py imports the
# installed package).
mkdir -p "/app/$SERVICE"
if [ -f "$package/alembic.ini" ]; then
    cp "$package/alembic.ini" "/app/$SERVICE/"
    cp -R "$package/alembic" "/app/$SERVICE/alembic"
fi
