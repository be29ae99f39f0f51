// The header compiles as C++ (-Wall -Wextra -Werror -pedantic), included twice, and
// its declarations have C linkage.
#include "coalmine.h"
#include "coalmine.h"

#include <cstdio>

int main() {
  coalmine_decision d{};
  coalmine_verdict v = COALMINE_VERDICT_INCONCLUSIVE;
  coalmine_status s = coalmine_status_message(COALMINE_OK, nullptr, 0, &d.n_contributors);
  d.action = COALMINE_ACTION_ROLLBACK;
  std::printf("C++: coalmine %s, decision %zu bytes, verdict %u, status %u\n",
              coalmine_version(), sizeof d, static_cast<unsigned>(v),
              static_cast<unsigned>(s));
  return s == COALMINE_OK && d.action == COALMINE_ACTION_ROLLBACK ? 0 : 1;
}
