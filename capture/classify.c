/* SPDX-License-Identifier: MIT */
/* (being written) */
#include "classify.h"
