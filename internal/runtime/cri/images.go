package cri

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/klite/klite/internal/runtime/image"
)

// ListImages lists stored images, optionally only those matching a reference.
func (s *Service) ListImages(_ context.Context, req *runtimeapi.ListImagesRequest) (*runtimeapi.ListImagesResponse, error) {
	if ref := req.GetFilter().GetImage().GetImage(); ref != "" {
		img, err := s.images.Get(ref)
		if errors.Is(err, image.ErrNotFound) {
			return &runtimeapi.ListImagesResponse{}, nil
		}
		if err != nil {
			return nil, grpcError(err)
		}
		return &runtimeapi.ListImagesResponse{Images: []*runtimeapi.Image{criImage(img)}}, nil
	}
	imgs, err := s.images.List()
	if err != nil {
		return nil, grpcError(err)
	}
	out := make([]*runtimeapi.Image, 0, len(imgs))
	for _, img := range imgs {
		out = append(out, criImage(img))
	}
	return &runtimeapi.ListImagesResponse{Images: out}, nil
}

// ImageStatus reports an image; a missing image is a nil Image, not an error.
func (s *Service) ImageStatus(_ context.Context, req *runtimeapi.ImageStatusRequest) (*runtimeapi.ImageStatusResponse, error) {
	img, err := s.images.Get(req.GetImage().GetImage())
	if errors.Is(err, image.ErrNotFound) {
		return &runtimeapi.ImageStatusResponse{}, nil
	}
	if err != nil {
		return nil, grpcError(err)
	}
	return &runtimeapi.ImageStatusResponse{Image: criImage(img)}, nil
}

// PullImage pulls an image with the request's credentials.
func (s *Service) PullImage(ctx context.Context, req *runtimeapi.PullImageRequest) (*runtimeapi.PullImageResponse, error) {
	var auth *image.Auth
	if a := req.GetAuth(); a != nil {
		auth = &image.Auth{Username: a.GetUsername(), Password: a.GetPassword(), Auth: a.GetAuth(),
			IdentityToken: a.GetIdentityToken(), RegistryToken: a.GetRegistryToken()}
	}
	img, err := s.images.Pull(ctx, req.GetImage().GetImage(), auth)
	if err != nil && ctx.Err() != nil {
		// The caller's deadline or cancellation, however the registry
		// client worded the failure it caused.
		return nil, status.FromContextError(ctx.Err()).Err()
	}
	if err != nil {
		return nil, grpcError(err)
	}
	return &runtimeapi.PullImageResponse{ImageRef: img.ID}, nil
}

// RemoveImage removes an image; removing a missing image succeeds, one a
// container still uses (its layers are that container's rootfs) fails.
func (s *Service) RemoveImage(_ context.Context, req *runtimeapi.RemoveImageRequest) (*runtimeapi.RemoveImageResponse, error) {
	img, err := s.images.Get(req.GetImage().GetImage())
	if errors.Is(err, image.ErrNotFound) {
		return &runtimeapi.RemoveImageResponse{}, nil
	}
	if err != nil {
		return nil, grpcError(err)
	}
	for _, c := range s.containers.List() {
		if c.ImageID == img.ID {
			return nil, status.Errorf(codes.FailedPrecondition, "image %s is in use by container %s", img.ID, c.ID)
		}
	}
	if err := s.images.Remove(img.ID); err != nil && !errors.Is(err, image.ErrNotFound) {
		return nil, grpcError(err)
	}
	return &runtimeapi.RemoveImageResponse{}, nil
}

// ImageFsInfo reports the space the unpacked layers use.
func (s *Service) ImageFsInfo(context.Context, *runtimeapi.ImageFsInfoRequest) (*runtimeapi.ImageFsInfoResponse, error) {
	bytes, inodes, err := s.images.FsUsage()
	if err != nil {
		return nil, grpcError(err)
	}
	u := &runtimeapi.FilesystemUsage{Timestamp: time.Now().UnixNano(),
		FsId:      &runtimeapi.FilesystemIdentifier{Mountpoint: s.images.Root()},
		UsedBytes: &runtimeapi.UInt64Value{Value: bytes}, InodesUsed: &runtimeapi.UInt64Value{Value: inodes}}
	return &runtimeapi.ImageFsInfoResponse{ImageFilesystems: []*runtimeapi.FilesystemUsage{u}}, nil
}

func criImage(img *image.Image) *runtimeapi.Image {
	out := &runtimeapi.Image{Id: img.ID, RepoTags: img.RepoTags, RepoDigests: img.RepoDigests,
		Size: uint64(img.Size), Spec: &runtimeapi.ImageSpec{Image: img.ID}}
	user, _, _ := strings.Cut(img.Config.User, ":")
	if uid, err := strconv.ParseInt(user, 10, 64); err == nil {
		out.Uid = &runtimeapi.Int64Value{Value: uid}
	} else if user != "" {
		out.Username = user
	}
	return out
}
