/* SPDX-License-Identifier: MIT */
/* (being written) */
#include "decode.h"
