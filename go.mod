module github.com/segpickle/segpickle

go 1.26
