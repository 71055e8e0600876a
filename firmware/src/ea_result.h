/* Result codes shared by the firmware core's modules. Functions return EA_OK (0) or one of the
 * negative codes; a payload refusal also reports the NAK field index (PROTOCOL.md §2.6). */
#ifndef EA_RESULT_H
#define EA_RESULT_H

#define EA_OK 0
#define EA_E_SPACE (-1)        /* the output buffer is too small */
#define EA_E_VALUE (-2)        /* a value does not fit its wire field (encoding) */
#define EA_E_UNKNOWN_TYPE (-3) /* msg_type is not in the schema */
#define EA_E_PAYLOAD (-4)      /* the payload does not fit the layout: NAK BAD_PAYLOAD */

#endif
