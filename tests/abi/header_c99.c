/* Every public header must compile on its own as C99 with -pedantic. */
#include <livegate/common.h>
#include <livegate/frame.h>
#include <livegate/livegate.h>
#include <livegate/server.h>
#include <livegate/store.h>
#include <livegate/url.h>

int main(void) {
  lg_server_options opts;
  lg_server_options_init(&opts);
  return lg_version() == LG_VERSION_HEX && opts.struct_size == sizeof opts ? 0 : 1;
}
