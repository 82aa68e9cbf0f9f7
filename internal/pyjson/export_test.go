package pyjson

// MaxNodes lets tests lower the value budget.
var MaxNodes = &maxNodes

// ErrRecursive is the error for a container inside itself.
var ErrRecursive = errRecursive
