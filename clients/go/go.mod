module ctm.dev/clients/go

go 1.19

require (
	github.com/spaolacci/murmur3 v1.1.0
	google.golang.org/grpc v1.33.3
	google.golang.org/protobuf v1.28.1
)
