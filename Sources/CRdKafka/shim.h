// Debian's librdkafka-dev ships both headers under /usr/include/librdkafka.
// rdkafka_mock.h must come after rdkafka.h: it refuses to compile otherwise.
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
