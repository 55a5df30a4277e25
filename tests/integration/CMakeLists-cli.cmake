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
endif()
