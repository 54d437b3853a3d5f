/* unit_sizes.c - placeholder, filled below */
#include "tap.h"
int main(void) { return tap_done(); }
