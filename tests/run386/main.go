// Command run386 exits 0: built for 386 by make gotest-386, it tells
// whether this kernel runs 386 programs (x86-64 Linux does unless built
// without IA32 emulation).
package main

func main() {}
