module github.com/vstreamd/vstreamd

go 1.26.0

require (
	github.com/BurntSushi/toml v1.6.0
	github.com/asticode/go-astiav v0.16.0
	github.com/klauspost/reedsolomon v1.14.2
	gocv.io/x/gocv v0.31.0
	golang.org/x/sys v0.50.0
)

require (
	github.com/asticode/go-astikit v0.42.0 // indirect
	github.com/klauspost/cpuid/v2 v2.3.0 // indirect
)
