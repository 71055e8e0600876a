/* What the device core's modules share inside (not for a board port): the functions of
 * ea_device.c the command handlers (ea_commands.c) and the receive order (ea_session.c)
 * call, as simulator/firmware/commands.py and receive.py call Firmware's methods. */
#ifndef EA_CORE_H
#define EA_CORE_H

#include <stddef.h>
#include <stdint.h>

#include "ea_checks.h"
#include "ea_device.h"

/* --- ea_device.c --- */
void ea_dev_changed(ea_device *dev);
/* Send m untagged (key 0, counter 0), with session_id (0 but for NAK NO_SESSION). */
void ea_dev_send_plain(ea_device *dev, const ea_message *m, uint32_t ref_counter,
                       uint32_t session_id);
/* Send an encoded payload in the session whose keys rx.session holds (the next device
 * counter); ends the open session when its counter is nearly used up. */
void ea_dev_send_payload_in_session(ea_device *dev, uint8_t msg_type, const uint8_t *payload,
                                    size_t len, uint32_t ref_counter);
void ea_dev_send_in_session(ea_device *dev, const ea_message *m, uint32_t ref_counter);
/* Open a session for hello under key slot, whose frame was frame[0..len). */
void ea_dev_open_session(ea_device *dev, const ea_hello *hello, int slot, const uint8_t *frame,
                         size_t len);
void ea_dev_end_session(ea_device *dev, uint8_t reason);
void ea_dev_grant_lease(ea_device *dev, uint16_t lease_ms);
int ea_dev_any_active(const ea_device *dev);
void ea_dev_limits(const ea_device *dev, ea_limits *out);
void ea_dev_info(const ea_device *dev, ea_info *out);
/* KeyStore.pair: 0 and the new key, or 1 with the refusal. */
int ea_dev_pair(ea_device *dev, uint32_t *key_id, uint8_t key[EA_KEY_SIZE], ea_refusal *r);
/* hal.random_bytes. */
void ea_dev_random_bytes(ea_device *dev, uint8_t *out, size_t size);

/* --- ea_commands.c --- */
/* check_hello: 0, or 1 with the refusal. */
int ea_check_hello(const ea_device *dev, const ea_hello *hello, ea_refusal *r);
/* HANDLERS[msg_type]: 0 and the reply, or 1 with the refusal. */
int ea_command_execute(ea_device *dev, const ea_message *m, ea_message *reply, ea_refusal *r);
/* program_crc: CRC-32C of the SET_PROGRAM payload without its channel byte. */
uint32_t ea_program_crc(const ea_set_program *p);

/* --- ea_session.c --- */
/* SessionIds.take: the id of the session about to open (never 0). */
uint32_t ea_session_take_id(ea_device *dev);
/* Session.tx_exhausted. */
int ea_session_tx_exhausted(const ea_device *dev);
/* receive_item: one decoder result through checks 5–13. */
void ea_session_receive_item(ea_device *dev, int parse);

#endif
