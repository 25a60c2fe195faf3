/* TestModelMain.c: the main() of the test model executable, as a compiled executable's would be. */
#include "ternc/runtime.h"

extern const ternc_model ternc_test_model;

int main(int argc, char **argv) { return ternc_main(&ternc_test_model, argc, argv); }
