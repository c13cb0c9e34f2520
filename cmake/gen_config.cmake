# cmake -DBIN=duxos-wallet -DSHORT=wallet -DOUT=file -P gen_config.cmake
# Writes the configuration the duxos package installs as /etc/duxos/<SHORT>.yaml: the daemon's
# own `--print-defaults` (every key, its built-in default and its meaning, so it cannot drift
# from the code) under a header, with the two values a packaged install changes.
execute_process(COMMAND ${BIN} --print-defaults
  OUTPUT_VARIABLE yaml RESULT_VARIABLE rc ERROR_VARIABLE err)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "${BIN} --print-defaults failed (${rc}): ${err}")
endif()

# Each replaced line must exist exactly as printed: a renamed key fails the build, not the install.
set(db_from "  conninfo: \"host=127.0.0.1 port=5432 dbname=duxos user=duxos\"")
set(db_to "  conninfo: \"host=/run/postgresql dbname=duxos user=duxos\"")
set(key_from "  public_key_file: \"\"")
set(key_to "  public_key_file: \"/etc/duxos/auth.pub.pem\"")
foreach(pair db key)
  string(FIND "${yaml}" "${${pair}_from}" at)
  if(at EQUAL -1)
    message(FATAL_ERROR "${BIN} --print-defaults has no line '${${pair}_from}'")
  endif()
  string(REPLACE "${${pair}_from}" "${${pair}_to}" yaml "${yaml}")
endforeach()

get_filename_component(bin_name ${BIN} NAME)
file(WRITE ${OUT} "\
# /etc/duxos/${SHORT}.yaml: configuration of ${bin_name}, as the duxos package installs it.
#
# Every key the daemon knows is below with its meaning; the values are the built-in defaults
# (${bin_name} --print-defaults) except two:
#   db.conninfo           the local PostgreSQL over its unix socket: peer authentication as the
#                         system user duxos, so no password (see /usr/share/doc/duxos/README.Debian.md)
#   auth.public_key_file  /etc/duxos/auth.pub.pem, the public half of the deployment's token key
# Precedence: built-in default < this file < environment variable DUXOS_<SECTION>_<KEY>.
#
# Secrets are not in this file. ${bin_name}.service loads them from /etc/duxos/credentials/
# (systemd LoadCredential=) and passes them as DUXOS_<SECTION>_<KEY>_FILE, which wins over the
# values below; leave those keys empty here. See /usr/share/doc/duxos/README.systemd.md.
#
# Check it: "Checking a configuration" in /usr/share/doc/duxos/README.systemd.md.
# After a change:  systemctl restart ${bin_name}  (SIGHUP does not reload)
${yaml}")
