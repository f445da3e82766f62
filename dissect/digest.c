/* SPDX-License-Identifier: MIT */
/* (being written) */
#include "digest.h"
