/* init/setup.c — placeholder until the limits work lands: does nothing yet. */
#include "setup.h"

void setup_parent(const struct options *o) { (void)o; }
void setup_child(const struct options *o) { (void)o; }
