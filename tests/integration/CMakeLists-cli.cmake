# End-to-end tests of the livegate-server example host: its entry subcommands,
# its JSON events, and real publishes with the ffmpeg CLI. Python standard
# library only. Included from tests/CMakeLists.txt.
if(TARGET livegate-server)
  find_package(Python3 COMPONENTS Interpreter REQUIRED)
  add_test(NAME "integration: server cli"
           COMMAND ${Python3_EXECUTABLE} -m unittest -v test_server_cli
           WORKING_DIRECTORY ${CMAKE_CURRENT_SOURCE_DIR}/integration)
  set_tests_properties("integration: server cli" PROPERTIES
    ENVIRONMENT "LG_SERVER_BIN=$<TARGET_FILE:livegate-server>;PYTHONDONTWRITEBYTECODE=1"
    TIMEOUT 600)
  # Its HTTP side: the admin API and static delivery of the media directory.
  add_test(NAME "integration: server http"
           COMMAND ${Python3_EXECUTABLE} -m unittest -v test_http_api
           WORKING_DIRECTORY ${CMAKE_CURRENT_SOURCE_DIR}/integration)
  set_tests_properties("integration: server http" PROPERTIES
    ENVIRONMENT "LG_SERVER_BIN=$<TARGET_FILE:livegate-server>;PYTHONDONTWRITEBYTECODE=1"
    TIMEOUT 300)
endif()

# Self-tests of the HLS test helpers: hls_rules (an RFC 8216 playlist checker)
# and hls_probe (ffprobe/ffmpeg measurements of a served stream). They need
# ffmpeg and ffprobe but not the server.
find_package(Python3 COMPONENTS Interpreter REQUIRED)
foreach(_lg_hls_test IN ITEMS rules probe)
  add_test(NAME "integration: hls ${_lg_hls_test} (python)"
           COMMAND ${Python3_EXECUTABLE} -m unittest -v test_hls_${_lg_hls_test}
           WORKING_DIRECTORY ${CMAKE_CURRENT_SOURCE_DIR}/integration)
  set_tests_properties("integration: hls ${_lg_hls_test} (python)" PROPERTIES
    ENVIRONMENT "PYTHONDONTWRITEBYTECODE=1"
    TIMEOUT 120)
endforeach()

# End to end over HTTP: real publishes to the example server, its playlists
# reloaded and its segments decoded (hls_rules, hls_probe), a SIGKILL in the
# middle of a recording and a restart on the same data directory.
if(TARGET livegate-server)
  add_test(NAME "integration: hls end to end (python)"
           COMMAND ${Python3_EXECUTABLE} -m unittest -v test_hls_e2e
           WORKING_DIRECTORY ${CMAKE_CURRENT_SOURCE_DIR}/integration)
  set_tests_properties("integration: hls end to end (python)" PROPERTIES
    ENVIRONMENT "LG_SERVER_BIN=$<TARGET_FILE:livegate-server>;PYTHONDONTWRITEBYTECODE=1"
    TIMEOUT 300)
  # Failover end to end: two ffmpeg publishers, one killed or stopped, the
  # HLS output read over HTTP.
  add_test(NAME "integration: failover end to end (python)"
           COMMAND ${Python3_EXECUTABLE} -m unittest -v test_failover_e2e
           WORKING_DIRECTORY ${CMAKE_CURRENT_SOURCE_DIR}/integration)
  set_tests_properties("integration: failover end to end (python)" PROPERTIES
    ENVIRONMENT "LG_SERVER_BIN=$<TARGET_FILE:livegate-server>;PYTHONDONTWRITEBYTECODE=1"
    TIMEOUT 300)
endif()
