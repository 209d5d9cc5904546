/* The COM1 UART (16550): the kernel console. Polled: no interrupts. */
#ifndef KEOS_DEV_SERIAL_H
#define KEOS_DEV_SERIAL_H
/* Programs COM1 for 115200 8N1. */
void serial_init(void);
/* Sends one byte, waiting for the transmitter; '\n' is sent as "\r\n". */
void serial_putc(char c);
#endif
