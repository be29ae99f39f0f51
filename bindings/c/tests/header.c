/* The header compiles as strict C11 (-Wall -Wextra -Werror -pedantic), included
 * twice, and its declarations link against the library. */
#include "coalmine.h"
#include "coalmine.h"

#include <stdio.h>

int main(void) {
  coalmine_decision d = {0};
  coalmine_verdict v = COALMINE_VERDICT_INCONCLUSIVE;
  coalmine_status s = coalmine_status_message(COALMINE_OK, NULL, 0, &d.n_contributors);
  d.action = COALMINE_ACTION_ROLLBACK;
  printf("C11: coalmine %s, decision %zu bytes, verdict %u, status %u\n",
         coalmine_version(), sizeof d, (unsigned)v, (unsigned)s);
  return s == COALMINE_OK && d.action == COALMINE_ACTION_ROLLBACK ? 0 : 1;
}
