package pyjson

// MaxNodes lets tests lower the value budget.
var MaxNodes = &maxNodes
