module github.com/segpickle/segpickle/bench

go 1.26

replace github.com/segpickle/segpickle => ../

require (
	github.com/kisielk/og-rek v1.3.0
	github.com/nlpodyssey/gopickle v0.3.0
	github.com/segpickle/segpickle v0.0.0-00010101000000-000000000000
)

require (
	github.com/aristanetworks/gomap v0.0.0-20230726210543-f4e41046dced // indirect
	golang.org/x/exp v0.0.0-20230725093048-515e97ebf090 // indirect
	golang.org/x/text v0.14.0 // indirect
)
