/* SPDX-License-Identifier: MIT */
/* (being written) */
#include "tls.h"
