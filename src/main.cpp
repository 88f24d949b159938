// Everything but main() lives in the libraries; main only hands over the arguments.
#include "cli/cli.h"

int main(int argc, char** argv) { return hsmproof::cli::run(argc, argv); }
